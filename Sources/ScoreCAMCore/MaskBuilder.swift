import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One masked forward pass: sample `sample` of channel `channel` of image `image`, or the unmasked
/// image itself (channel == nil) when the base score is needed.
struct WorkItem: Sendable {
    let image: Int
    let channel: Int?
    var sample = 0
}

/// Builds masked images X' = b + (X - b) * M' straight into a batch buffer, where M' is the mask
/// M_k = (U_k - min U_k) / (max U_k - min U_k + eps), U_k = up(A_k) (or the torchcam order:
/// normalize at activation resolution, then upsample), as the method wants it: itself
/// (Score-CAM), plus Gaussian noise (SS-CAM), or scaled (IS-CAM). Each upsampled channel lives only
/// in a per-thread scratch plane: nothing full-resolution outlives the image it masks.
struct MaskBuilder: @unchecked Sendable {
    let input: TensorView
    let activations: TensorView
    let resampler: Resampler
    let parameters: Parameters
    /// Masks mode: a batch holds the masks M' (h x w each), not the masked images; the host forms
    /// the masked images on its device.
    let masksOnly: Bool
    /// Per-thread scratch (one plane, the resampler's scratch, one activation plane) for `slots`
    /// threads, allocated once and failably: `build` runs one batch at a time, so the slots are
    /// never shared.
    private let scratchPool: FloatBuffer
    private let slots: Int
    private let slotFloats: Int

    init(input: TensorView, activations: TensorView, parameters: Parameters, masksOnly: Bool = false) throws(EngineError) {
        self.input = input
        self.activations = activations
        self.parameters = parameters
        self.masksOnly = masksOnly
        resampler = Resampler(from: (activations.h, activations.w), to: (input.h, input.w), mode: parameters.upsample)
        slotFloats = try Sizes.sum(input.planeSize, Sizes.sum(resampler.scratchCount, activations.planeSize, "mask scratch"),
                                   "mask scratch")
        let slotBytes = try Sizes.bytes([slotFloats], elementSize: 4, "one thread's mask scratch")
        slots = Swift.max(1, Swift.min(parameters.workerThreads, parameters.batchMemory / Swift.max(slotBytes, 1)))
        try Sizes.requireAffordable(bytes: Sizes.product([slots, slotBytes], "mask scratch"), "mask scratch")
        scratchPool = try FloatBuffer(count: Sizes.product([slots, slotFloats], elementSize: 4, "mask scratch"))
    }

    /// Writes items[i] into batch + i * itemFloats, items spread over the worker threads.
    func build(_ items: ArraySlice<WorkItem>, into batch: UnsafeMutablePointer<Float>) {
        let first = items.startIndex
        nonisolated(unsafe) let batch = batch
        nonisolated(unsafe) let pool = scratchPool.pointer
        let slotFloats = slotFloats
        forEachItemInParallel(items.count, threads: slots) { slot, indices in
            let plane = pool + slot * slotFloats
            let scratch = plane + input.planeSize
            for i in indices {
                buildOne(items[first + i], into: batch + i * itemFloats, plane: plane, scratch: scratch)
            }
        }
    }

    var itemFloats: Int { masksOnly ? input.planeSize : input.imageSize }

    func forward<Host: ModelHost>(_ host: Host, batch: UnsafePointer<Float>, items: ArraySlice<WorkItem>,
                                  outputs: UnsafeMutablePointer<Float>) throws(EngineError) {
        guard masksOnly else {
            try host.forward(batch, count: items.count, c: input.c, h: input.h, w: input.w, outputs: outputs)
            return
        }
        try host.forwardMasks(batch, images: items.map(\.image), input: input, outputs: outputs)
    }

    /// The mask of a channel into `plane` with its normalization still to apply: the normalized
    /// mask is (plane - lo) * scale. Folding it into the masking multiply saves a pass over the
    /// plane; the resampler finds the range while it writes. (0, 1) when `plane` is final already.
    func pendingMask(image: Int, channel: Int, into plane: UnsafeMutablePointer<Float>,
                     scratch: UnsafeMutablePointer<Float>) -> (lo: Float, scale: Float) {
        let source = activations.plane(image, channel)
        if parameters.normalizeMaskFirst {
            let low = scratch + resampler.scratchCount
            low.update(from: source, count: activations.planeSize)
            normalizeMinMax(low, count: activations.planeSize, eps: parameters.normEps)
            resampler.resize(low, into: plane, scratch: scratch)
            return (0, 1)
        }
        let (lo, hi) = resampler.resize(source, into: plane, scratch: scratch)
        return (lo, normalizationScale(lo: lo, hi: hi, eps: parameters.normEps))
    }

    private func buildOne(_ item: WorkItem, into dst: UnsafeMutablePointer<Float>,
                          plane: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let size = input.planeSize
        let image = input.data + item.image * input.imageSize
        guard let channel = item.channel else {
            // The unmasked image; in masks mode, the all-ones mask.
            if masksOnly { dst.update(repeating: 1, count: size) } else { dst.update(from: image, count: input.imageSize) }
            return
        }
        // In masks mode the mask is the output: it is built in place, normalized there.
        let plane = masksOnly ? dst : plane
        var (lo, scale) = pendingMask(image: item.image, channel: channel, into: plane, scratch: scratch)
        if masksOnly || parameters.method != .scoreCAM {
            applyNormalization(plane, count: size, lo: lo, scale: scale)
            (lo, scale) = (0, 1)
        }
        switch parameters.method {
        case .scoreCAM:
            break
        case .ssCAM:
            var noise = GaussianNoise(seed: parameters.seed, stream: [item.image, channel, item.sample],
                                      std: Float(parameters.noiseStd))
            for i in 0..<size { plane[i] += noise.next() }
        case .isCAM:
            // torchcam: the i-th (1-based) pass scales the masked input by sum_{j<=i} j / N.
            let n = Float(parameters.samplesPerChannel), i = Float(item.sample + 1)
            let coefficient = i * (i + 1) / (2 * n)
            for p in 0..<size { plane[p] *= coefficient }
        }
        if masksOnly { return }
        maskMultiply(image, mask: plane, count: size, channels: input.c, lo: lo, scale: scale,
                     baseline: parameters.baseline, into: dst)
    }
}

/// x = (x - min) / (max - min + eps), in place; a constant plane with eps = 0 becomes zeros
/// instead of 0 / 0.
func normalizeMinMax(_ x: UnsafeMutablePointer<Float>, count: Int, eps: Double) {
    let (lo, hi) = minMax(x, count: count)
    applyNormalization(x, count: count, lo: lo, scale: normalizationScale(lo: lo, hi: hi, eps: eps))
}

/// Reproducible N(0, std^2) samples for one (image, channel, sample) stream, independent of
/// threads and batching: SplitMix64 keyed by the stream, Box-Muller pairs.
struct GaussianNoise {
    private var state: UInt64
    private var spare: Float?
    private let std: Float

    init(seed: UInt64, stream: [Int], std: Float) {
        var state = seed ^ 0x5CA1_AB1E_0DDB_A11
        for value in stream { state = GaussianNoise.mix(state &+ UInt64(bitPattern: Int64(value)) &* 0x9E37_79B9_7F4A_7C15) }
        self.state = state
        self.std = std
    }

    private static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    private mutating func uniform() -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        return (Double(GaussianNoise.mix(state) >> 11) + 0.5) / 9_007_199_254_740_992  // (0, 1)
    }

    mutating func next() -> Float {
        if let spare {
            self.spare = nil
            return spare
        }
        let radius = (-2 * log(uniform())).squareRoot(), angle = 2 * Double.pi * uniform()
        spare = Float(radius * sin(angle)) * std
        return Float(radius * cos(angle)) * std
    }
}

/// Throws `.invalidArgument` when masked images b + (X - b) * M' of an input of magnitude
/// `inputMagnitude` could overflow float32, M' being the method's mask (up to 1 for Score-CAM,
/// (N + 1) / 2 for IS-CAM, 1 plus the noise for SS-CAM, whose Box-Muller samples stay below 9 std).
func requireSafeMasking(inputMagnitude: Float, parameters: Parameters) throws(EngineError) {
    let scale: Double = switch parameters.method {
    case .scoreCAM: 1
    case .isCAM: (Double(parameters.samplesPerChannel) + 1) / 2
    case .ssCAM: 1 + 9 * parameters.noiseStd
    }
    let b = Double(parameters.baseline).magnitude
    let largest = b + (Double(inputMagnitude) + b) * scale
    guard scale <= largestSafeMagnitude, largest <= largestSafeMagnitude else {
        throw EngineError(.invalidArgument, "masked images would overflow float32: input values up to \(inputMagnitude), baseline \(parameters.baseline), masks scaled up to \(scale) (SAMPLES, NOISE_STD); rescale the input or lower them")
    }
}

/// Writes the masks of `channels` (channels.count x h x w), or with `input` the masked images
/// (channels.count x c x h x w), exactly as a Score-CAM run builds them. For inspection only: this
/// materialises what a run never holds at once.
package func renderMasks(parameters: Parameters, input: TensorView?, size: (h: Int, w: Int),
                        activations: TensorView, channels: [Int], into out: UnsafeMutablePointer<Float>) throws(EngineError) {
    try parameters.validate()
    guard activations.n == 1 else { throw EngineError(.shape, "masks are rendered for one image at a time") }
    guard size.h > 0, size.w > 0, activations.c > 0, activations.h > 0, activations.w > 0 else {
        throw EngineError(.shape, "mask and activation dimensions must be positive")
    }
    _ = try Sizes.product([activations.c, activations.h, activations.w], elementSize: 4, "the activations")
    _ = try Sizes.product([channels.count, input?.c ?? 1, size.h, size.w], elementSize: 4, "the masks")
    for channel in channels where channel < 0 || channel >= activations.c {
        throw EngineError(.invalidArgument, "channel \(channel) is outside the \(activations.c) channels")
    }
    guard !channels.isEmpty else { return }
    try requireSafeMagnitude(requireFinite(activations.data, count: activations.count, what: "the activations"),
                             what: "the activations")
    var parameters = parameters
    parameters.method = .scoreCAM
    let items = channels.map { WorkItem(image: 0, channel: $0) }
    if let input {
        guard input.n == 1, input.c > 0, input.h == size.h, input.w == size.w else {
            throw EngineError(.shape, "the input must be 1 x c x \(size.h) x \(size.w)")
        }
        try requireSafeMasking(inputMagnitude: requireFinite(input.data, count: input.count, what: "the input"),
                               parameters: parameters)
        try MaskBuilder(input: input, activations: activations, parameters: parameters).build(items[...], into: out)
        return
    }
    // A mask is the masked image of an all-ones single-channel input with baseline 0.
    parameters.baseline = 0
    let ones = try FloatBuffer(count: Sizes.product([size.h, size.w], elementSize: 4, "a mask"))
    ones.pointer.update(repeating: 1, count: size.h * size.w)
    try MaskBuilder(input: TensorView(ones.pointer, 1, 1, size.h, size.w), activations: activations,
                    parameters: parameters).build(items[...], into: out)
}
