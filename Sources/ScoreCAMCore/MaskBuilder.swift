import Dispatch

/// One masked forward pass: channel `channel` of image `image`, or the unmasked image itself
/// (channel == nil) when the base score is needed.
struct WorkItem: Sendable {
    let image: Int
    let channel: Int?
}

/// Builds masked images X_k = b + (X - b) * M_k with M_k = (U_k - min U_k) / (max U_k - min U_k + eps)
/// and U_k = up(A_k), straight into a batch buffer. Each upsampled channel lives only in a
/// per-thread scratch plane: nothing full-resolution outlives the image it masks.
struct MaskBuilder: @unchecked Sendable {
    let input: TensorView
    let activations: TensorView
    let resampler: Resampler
    let eps: Double
    let baseline: Float
    let threads: Int

    /// Writes items[i] into batch + i * imageSize, items spread over the worker threads.
    func build(_ items: ArraySlice<WorkItem>, into batch: UnsafeMutablePointer<Float>) {
        let chunks = Swift.max(1, Swift.min(threads, items.count))
        let first = items.startIndex
        nonisolated(unsafe) let batch = batch
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let plane = UnsafeMutablePointer<Float>.allocate(capacity: input.planeSize)
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: resampler.scratchCount)
            defer {
                plane.deallocate()
                scratch.deallocate()
            }
            for i in stride(from: chunk, to: items.count, by: chunks) {
                buildOne(items[first + i], into: batch + i * input.imageSize, plane: plane, scratch: scratch)
            }
        }
    }

    private func buildOne(_ item: WorkItem, into dst: UnsafeMutablePointer<Float>,
                          plane: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let size = input.planeSize
        let image = input.data + item.image * input.imageSize
        guard let channel = item.channel else {
            dst.update(from: image, count: input.imageSize)
            return
        }
        resampler.resize(activations.plane(item.image, channel), into: plane, scratch: scratch)
        var lo = plane[0], hi = plane[0]
        for i in 1..<size {
            lo = Swift.min(lo, plane[i])
            hi = Swift.max(hi, plane[i])
        }
        let range = Double(hi - lo) + eps
        // A constant channel with eps = 0 would divide 0 by 0: its mask is empty instead.
        let scale = range > 0 ? Float(1 / range) : 0
        for i in 0..<size { plane[i] = (plane[i] - lo) * scale }
        let b = baseline
        for c in 0..<input.c {
            let x = image + c * size
            let out = dst + c * size
            if b == 0 {
                for i in 0..<size { out[i] = x[i] * plane[i] }
            } else {
                for i in 0..<size { out[i] = b + (x[i] - b) * plane[i] }
            }
        }
    }
}

/// Writes the masks of `channels` (channels.count x h x w), or with `input` the masked images
/// (channels.count x c x h x w), exactly as a run would build them. For inspection only: this
/// materialises what a run never holds at once.
public func renderMasks(parameters: Parameters, input: TensorView?, size: (h: Int, w: Int),
                        activations: TensorView, channels: [Int], into out: UnsafeMutablePointer<Float>) throws(EngineError) {
    guard activations.n == 1 else { throw EngineError(.shape, "masks are rendered for one image at a time") }
    for channel in channels where channel < 0 || channel >= activations.c {
        throw EngineError(.invalidArgument, "channel \(channel) is outside the \(activations.c) channels")
    }
    try requireFinite(activations.data, count: activations.count, what: "the activations")
    let resampler = Resampler(from: (activations.h, activations.w), to: size, mode: parameters.upsample)
    let items = channels.map { WorkItem(image: 0, channel: $0) }
    if let input {
        try requireFinite(input.data, count: input.count, what: "the input")
        MaskBuilder(input: input, activations: activations, resampler: resampler, eps: parameters.normEps,
                    baseline: parameters.baseline, threads: parameters.workerThreads).build(items[...], into: out)
        return
    }
    // A mask is the masked image of an all-ones single-channel input with baseline 0.
    let ones = [Float](repeating: 1, count: size.h * size.w)
    ones.withUnsafeBufferPointer { ones in
        MaskBuilder(input: TensorView(ones.baseAddress!, 1, 1, size.h, size.w), activations: activations,
                    resampler: resampler, eps: parameters.normEps, baseline: 0, threads: parameters.workerThreads)
            .build(items[...], into: out)
    }
}
