import Dispatch

/// What one image's explanation was made of, for users who inspect it.
public struct ImageDetails: Equatable, Sendable {
    /// Channel indices in processing order (K' of them).
    public let channels: [Int]
    /// K' x T: the score of each masked image per target (before subtracting the base score).
    public let scores: [Float]
    /// K' x T: the weight of each channel per target.
    public let weights: [Float]
    /// T: the unmasked image's scores, NaN where the run did not need them.
    public let baseScores: [Float]
}

/// A Score-CAM run over a batch of images and targets.
///
/// Streaming: masked images exist only inside two batch buffers (one being filled by worker
/// threads while the host runs the other); channel maps are summed at activation resolution and
/// upsampled once per target at the end, which is exact because upsampling is linear.
public struct Explainer {
    public let parameters: Parameters
    public let input: TensorView
    public let activations: TensorView
    public let targets: [Int]
    public let numTargets: Int

    public init(parameters: Parameters, input: TensorView, activations: TensorView,
                targets: [Int], numTargets: Int) {
        self.parameters = parameters
        self.input = input
        self.activations = activations
        self.targets = targets
        self.numTargets = numTargets
    }

    /// Floats `run` writes: images x targets x h x w.
    public var mapsCount: Int { input.n * numTargets * input.planeSize }

    /// Writes the maps and returns the per-image details. On error, `maps` is untouched.
    public func run(host: some ModelHost, maps: UnsafeMutablePointer<Float>,
                    mapsCapacity: Int) throws(EngineError) -> [ImageDetails] {
        try validate(host: host, mapsCapacity: mapsCapacity)
        let plans = try (0..<input.n).map { image throws(EngineError) in
            try selectChannels(activations, image: image, parameters: parameters)
        }
        let needsBase = parameters.needsBaseScore
        var items = [WorkItem]()
        if needsBase { items += (0..<input.n).map { WorkItem(image: $0, channel: nil) } }
        for (image, plan) in plans.enumerated() { items += plan.map { WorkItem(image: image, channel: $0) } }

        let itemScores = try scoreAll(items, host: host)

        // Everything that can fail has run: only now touch the caller's buffer.
        var details = [ImageDetails]()
        var offset = needsBase ? input.n : 0
        let resampler = Resampler(from: (activations.h, activations.w), to: (input.h, input.w),
                                  mode: parameters.upsample)
        var scratch = [Float](repeating: 0, count: resampler.scratchCount)
        for (image, plan) in plans.enumerated() {
            let base = needsBase ? Array(itemScores[(image * numTargets)..<((image + 1) * numTargets)])
                                 : [Float](repeating: .nan, count: numTargets)
            let scores = Array(itemScores[(offset * numTargets)..<((offset + plan.count) * numTargets)])
            offset += plan.count
            var weights = [Float](repeating: 0, count: scores.count)
            for t in 0..<numTargets {
                let shift = needsBase ? Double(base[t]) : 0
                let column = (0..<plan.count).map { Double(scores[$0 * numTargets + t]) - shift }
                let w = channelWeights(column, weighting: parameters.weighting)
                for j in 0..<plan.count { weights[j * numTargets + t] = Float(w[j]) }
                let map = maps + (image * numTargets + t) * input.planeSize
                scratch.withUnsafeMutableBufferPointer { s in
                    writeMap(image: image, channels: plan, weights: w, resampler: resampler,
                             into: map, scratch: s.baseAddress!)
                }
            }
            details.append(ImageDetails(channels: plan, scores: scores, weights: weights, baseScores: base))
        }
        return details
    }

    // MARK: - steps

    private func validate(host: some ModelHost, mapsCapacity: Int) throws(EngineError) {
        guard input.n > 0, input.c > 0, input.h > 0, input.w > 0 else {
            throw EngineError(.shape, "input dimensions must be positive, got \(input.n)x\(input.c)x\(input.h)x\(input.w)")
        }
        guard activations.n == input.n else {
            throw EngineError(.shape, "activations hold \(activations.n) images but the input holds \(input.n)")
        }
        guard activations.c > 0, activations.h > 0, activations.w > 0 else {
            throw EngineError(.shape, "activation dimensions must be positive, got \(activations.c)x\(activations.h)x\(activations.w)")
        }
        guard numTargets > 0 else { throw EngineError(.invalidArgument, "at least one target is needed") }
        guard host.outputDim > 0 else { throw EngineError(.invalidArgument, "the model's output dimension must be positive") }
        guard mapsCapacity >= mapsCount else {
            throw EngineError(.bufferTooSmall, "the maps buffer holds \(mapsCapacity) floats but \(mapsCount) are needed (\(input.n) images x \(numTargets) targets x \(input.h) x \(input.w))")
        }
        if !host.scoresTargets {
            guard targets.count == numTargets else {
                throw EngineError(.invalidArgument, "class targets are required without a scoring callback")
            }
            for (i, target) in targets.enumerated() where target < 0 || target >= host.outputDim {
                throw EngineError(.invalidArgument, "target \(i) is class \(target), outside the model's \(host.outputDim) outputs")
            }
        }
        try requireFinite(input.data, count: input.count, what: "the input")
        try requireFinite(activations.data, count: activations.count, what: "the activations")
    }

    /// Runs every masked forward pass and returns items.count x numTargets scores.
    private func scoreAll(_ items: [WorkItem], host: some ModelHost) throws(EngineError) -> [Float] {
        let total = items.count
        let batch = Swift.min(parameters.batchSize, total)
        let imageSize = input.imageSize
        let (batchFloats, overflow) = batch.multipliedReportingOverflow(by: imageSize)
        guard !overflow else { throw EngineError(.outOfMemory, "a batch of \(batch) images of \(imageSize) floats overflows") }
        let buffers = [try FloatBuffer(count: batchFloats), try FloatBuffer(count: batchFloats)]
        let outputs = try FloatBuffer(count: batch * host.outputDim)
        let scores = try FloatBuffer(count: batch * numTargets)
        var itemScores = [Float](repeating: 0, count: total * numTargets)

        let builder = MaskBuilder(
            input: input, activations: activations,
            resampler: Resampler(from: (activations.h, activations.w), to: (input.h, input.w), mode: parameters.upsample),
            eps: parameters.normEps, baseline: parameters.baseline, threads: parameters.workerThreads)

        builder.build(items[0..<batch], into: buffers[0].pointer)
        var start = 0, current = 0
        while start < total {
            let end = Swift.min(start + batch, total)
            let count = end - start
            // Double buffering: workers fill the other buffer while the host runs this one.
            let pending = DispatchGroup()
            if end < total {
                let next = items[end..<Swift.min(end + batch, total)]
                let target = buffers[1 - current]
                DispatchQueue.global().async(group: pending) { builder.build(next, into: target.pointer) }
            }
            // The worker writes into a buffer this function owns: never leave before it is done.
            defer { pending.wait() }

            try host.forward(buffers[current].pointer, count: count, c: input.c, h: input.h, w: input.w,
                             outputs: outputs.pointer)
            try requireFinite(outputs.pointer, count: count * host.outputDim, what: "the forward callback's outputs")
            try score(outputs.pointer, count: count, host: host, into: scores.pointer)
            try requireFinite(scores.pointer, count: count * numTargets, what: "the scoring callback's scores")
            for i in 0..<(count * numTargets) { itemScores[start * numTargets + i] = scores.pointer[i] }
            guard host.progress(done: end, total: total) else {
                throw EngineError(.cancelled, "cancelled by the progress callback after \(end) of \(total) masked images")
            }
            start = end
            current = 1 - current
        }
        return itemScores
    }

    private func score(_ outputs: UnsafePointer<Float>, count: Int, host: some ModelHost,
                       into scores: UnsafeMutablePointer<Float>) throws(EngineError) {
        if host.scoresTargets {
            try host.score(outputs, count: count, targets: targets, numTargets: numTargets, scores: scores)
            return
        }
        let d = host.outputDim
        for i in 0..<count {
            let row = outputs + i * d
            for (t, target) in targets.enumerated() {
                scores[i * numTargets + t] = parameters.score == .logit
                    ? row[target] : softmaxProbability(row, count: d, index: target)
            }
        }
    }

    /// map = ReLU(up(sum_k w_k A_k)), min-max normalized if asked.
    private func writeMap(image: Int, channels: [Int], weights: [Double], resampler: Resampler,
                          into map: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let size = activations.planeSize
        var sum = [Double](repeating: 0, count: size)
        for (j, channel) in channels.enumerated() {
            let plane = activations.plane(image, channel)
            let w = weights[j]
            for i in 0..<size { sum[i] += w * Double(plane[i]) }
        }
        let low = sum.map { Float($0) }
        let count = input.planeSize
        low.withUnsafeBufferPointer { resampler.resize($0.baseAddress!, into: map, scratch: scratch) }
        for i in 0..<count { map[i] = Swift.max(map[i], 0) }
        guard parameters.normalizeMap else { return }
        var lo = map[0], hi = map[0]
        for i in 1..<count {
            lo = Swift.min(lo, map[i])
            hi = Swift.max(hi, map[i])
        }
        let scale: Float = hi > lo ? 1 / (hi - lo) : 0
        for i in 0..<count { map[i] = (map[i] - lo) * scale }
    }
}

/// Throws `.nonFinite` naming the first NaN or Inf.
func requireFinite(_ values: UnsafePointer<Float>, count: Int, what: String) throws(EngineError) {
    for i in 0..<count where !values[i].isFinite {
        throw EngineError(.nonFinite, "\(what) hold a non-finite value (\(values[i])) at flat index \(i)")
    }
}
