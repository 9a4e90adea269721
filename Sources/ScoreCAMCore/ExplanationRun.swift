/// What one image's explanation was made of, for users who inspect it.
public struct ImageDetails: Equatable, Sendable {
    /// Channel indices in processing order (K' of them).
    public let channels: [Int]
    /// K' x T: each channel's score per target (the mean over its samples for SS-CAM / IS-CAM),
    /// before subtracting the base score.
    public let scores: [Float]
    /// K' x T: the weight of each channel per target.
    public let weights: [Float]
    /// T: the unmasked image's scores, NaN where the run did not need them.
    public let baseScores: [Float]
}

/// A Score-CAM run over a batch of images and targets.
///
/// Streaming: masked images exist only inside two batch buffers (see ForwardPipeline); channel
/// maps are summed at activation resolution and upsampled once per target at the end, which is
/// exact because upsampling is linear.
package struct ExplanationRun {
    package let parameters: Parameters
    package let input: TensorView
    package let activations: TensorView
    package let targets: [Int]
    package let numTargets: Int
    /// Where the batch buffers are kept between runs (nil: allocated for each run).
    package var batchBuffers: BatchBufferCache?
    /// Channels chosen by the host, explained as given for every image instead of `selection`.
    package var explicitChannels: [Int]? = nil
    /// true: `targets` holds images x numTargets values, each image's own (compute_per_image).
    package var targetsPerImage = false

    private var runTargets: RunTargets { RunTargets(targets, count: numTargets, perImage: targetsPerImage) }

    package init(parameters: Parameters, input: TensorView, activations: TensorView,
                targets: [Int], numTargets: Int) {
        self.parameters = parameters
        self.input = input
        self.activations = activations
        self.targets = targets
        self.numTargets = numTargets
    }

    /// The size of one map: the input's, or the activations' (torchcam).
    package var mapSize: (h: Int, w: Int) {
        parameters.mapSize(input: (h: input.h, w: input.w), activations: (h: activations.h, w: activations.w))
    }

    /// Floats `run` writes: images x targets x map height x map width (Int.max if that overflows).
    package var mapsCount: Int {
        (try? Sizes.product([input.n, numTargets, mapSize.h, mapSize.w], elementSize: 4, "the maps")) ?? Int.max
    }

    /// Score calls stream the work items in chunks of at most this many items x targets scores:
    /// SS-CAM's SAMPLES x channels never becomes one list.
    private static let chunkScores = 1 << 20

    /// Writes the maps and returns the per-image details. On error, `maps` is untouched.
    package func run(host: some ModelHost, maps: UnsafeMutablePointer<Float>,
                    mapsCapacity: Int) throws(EngineError) -> [ImageDetails] {
        let activationMagnitude = try validate(host: host, mapsCapacity: mapsCapacity)
        let adaptive = parameters.adaptiveTolerance > 0
        var plans = try (0..<input.n).map { image throws(EngineError) in
            if let explicitChannels {
                return try explicitChannelPlan(explicitChannels, activations: activations, image: image)
            }
            return try selectChannels(activations, image: image, parameters: parameters, ordered: adaptive)
        }
        let samples = parameters.samplesPerChannel
        let needsBase = parameters.needsBaseScore
        let channelCount = plans.reduce(0) { $0 + $1.count }
        let planned = try Sizes.sum(Sizes.product([channelCount, samples], "the masked images of the run"),
                                    needsBase ? input.n : 0, "the forward passes of the run")
        // What the run keeps besides the batches: per channel and target a score, a sum and a
        // weight (the details), and one chunk of item scores.
        let chunk = Swift.max(1, Swift.min(planned, Self.chunkScores / numTargets))
        try Sizes.requireAffordable(
            bytes: Sizes.sum(Sizes.bytes([channelCount, numTargets], elementSize: 16, "the channel scores"),
                             Sizes.bytes([chunk, numTargets], elementSize: 4, "a chunk of scores"), "the run's scores"),
            "the channel scores and weights")
        let pipeline = try ForwardPipeline(
            builder: try MaskBuilder(input: input, activations: activations, parameters: parameters,
                                 masksOnly: host.takesMasks), host: host,
            parameters: parameters, targets: runTargets, maxItems: chunk, total: planned, cache: batchBuffers)

        let base: [[Float]] = needsBase
            ? try perImage(pipeline.score((0..<input.n).map { WorkItem(image: $0, channel: nil) }))
            : Array(repeating: [Float](repeating: .nan, count: numTargets), count: input.n)
        var scores = [[Float]](repeating: [], count: input.n)
        if adaptive {
            for image in 0..<input.n {
                (plans[image], scores[image]) = try scoreUntilConverged(
                    image: image, plan: plans[image], base: base[image], pipeline: pipeline,
                    chunk: chunk, activationMagnitude: activationMagnitude)
            }
        } else {
            let channels = plans.enumerated().flatMap { image, plan in plan.map { (image: image, channel: $0) } }
            let all = try meanScores(channels, pipeline: pipeline, chunk: chunk)
            var offset = 0
            for (image, plan) in plans.enumerated() {
                let count = plan.count * numTargets
                scores[image] = Array(all[offset..<(offset + count)])
                offset += count
            }
        }

        // Weights and a bound on every map value first: only then touch the caller's buffer.
        var weights = [[[Double]]]()
        for (image, plan) in plans.enumerated() {
            weights.append(try (0..<numTargets).map { t throws(EngineError) in
                try channelWeights(scores[image], base: base[image], target: t, channels: plan.count,
                                   activationMagnitude: activationMagnitude)
            })
        }
        let writer = try MapWriter(parameters: parameters, activations: activations, outputSize: mapSize,
                                   inputSize: (input.h, input.w))
        var details = [ImageDetails]()
        for (image, plan) in plans.enumerated() {
            var flatWeights = [Float](repeating: 0, count: plan.count * numTargets)
            for t in 0..<numTargets {
                let w = weights[image][t]
                for j in 0..<plan.count { flatWeights[j * numTargets + t] = Float(w[j]) }
                writer.write(image: image, channels: plan, weights: w,
                             into: maps + (image * numTargets + t) * mapSize.h * mapSize.w)
            }
            details.append(ImageDetails(channels: plan, scores: scores[image], weights: flatWeights, baseScores: base[image]))
        }
        return details
    }

    // MARK: - steps

    /// Checks everything a run reads before it starts; returns the activations' largest magnitude.
    private func validate(host: some ModelHost, mapsCapacity: Int) throws(EngineError) -> Float {
        try parameters.validate()
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
        _ = try Sizes.product([input.n, input.c, input.h, input.w], elementSize: 4, "the input")
        _ = try Sizes.product([activations.n, activations.c, activations.h, activations.w], elementSize: 4, "the activations")
        let needed = try Sizes.product([input.n, numTargets, mapSize.h, mapSize.w], elementSize: 4, "the maps")
        guard mapsCapacity >= needed else {
            throw EngineError(.bufferTooSmall, "the maps buffer holds \(mapsCapacity) floats but \(needed) are needed (\(input.n) images x \(numTargets) targets x \(mapSize.h) x \(mapSize.w))")
        }
        try requireClassTargets(runTargets, images: input.n, host: host)
        try requireSafeMasking(inputMagnitude: requireFinite(input.data, count: input.count, what: "the input"),
                               parameters: parameters)
        let activationMagnitude = try requireFinite(activations.data, count: activations.count, what: "the activations")
        try requireSafeMagnitude(activationMagnitude, what: "the activations")
        return activationMagnitude
    }

    /// Every forward pass of one channel of one image: its samples, consecutively.
    private func items(image: Int, channel: Int) -> [WorkItem] {
        (0..<parameters.samplesPerChannel).map { WorkItem(image: image, channel: channel, sample: $0) }
    }

    /// The mean score over samples of each (image, channel) pair (pairs x T), streaming the work
    /// items through the pipeline `chunk` at a time and summing in Double in sample order.
    private func meanScores<Host: ModelHost>(_ pairs: [(image: Int, channel: Int)],
                                             pipeline: ForwardPipeline<MaskBuilder, Host>,
                                             chunk: Int) throws(EngineError) -> [Float] {
        let samples = parameters.samplesPerChannel
        var sums = [Double](repeating: 0, count: pairs.count * numTargets)
        var pending = [WorkItem](), owners = [Int]()
        func flush() throws(EngineError) {
            let itemScores = try pipeline.score(pending)
            for (i, owner) in owners.enumerated() {
                for t in 0..<numTargets { sums[owner * numTargets + t] += Double(itemScores[i * numTargets + t]) }
            }
            pending.removeAll(keepingCapacity: true)
            owners.removeAll(keepingCapacity: true)
        }
        for (index, pair) in pairs.enumerated() {
            for item in items(image: pair.image, channel: pair.channel) {
                pending.append(item)
                owners.append(index)
                if pending.count == chunk { try flush() }
            }
        }
        if !pending.isEmpty { try flush() }
        return sums.map { Float($0 / Double(samples)) }
    }

    /// One row of numTargets scores per image.
    private func perImage(_ flat: [Float]) -> [[Float]] {
        stride(from: 0, to: flat.count, by: numTargets).map { Array(flat[$0..<($0 + numTargets)]) }
    }

    /// The weights of target t from channel scores (K' x T), shifted by the base score if asked.
    /// Throws `.nonFinite` when sum_k |w_k| x max |A| (a bound on every map value) overflows float32:
    /// RAW weights of huge scores would otherwise give Inf/NaN maps.
    private func channelWeights(_ scores: [Float], base: [Float], target t: Int, channels: Int,
                                activationMagnitude: Float) throws(EngineError) -> [Double] {
        let shift = parameters.needsBaseScore ? Double(base[t]) : 0
        let column = stride(from: t, to: channels * numTargets, by: numTargets).map { Double(scores[$0]) - shift }
        let weights = ScoreCAMCore.channelWeights(column, weighting: parameters.weighting)
        let bound = weights.reduce(0) { $0 + $1.magnitude } * Double(activationMagnitude)
        guard bound.isFinite, bound <= largestSafeMagnitude else {
            throw EngineError(.nonFinite, "target \(t): channel weights up to \(weights.map(\.magnitude).max() ?? 0) (the scores, with \(parameters.weighting == .raw ? "RAW" : "SOFTMAX") weighting) times activations up to \(activationMagnitude) overflow float32 maps; scale the scores down or use SOFTMAX weighting")
        }
        return weights
    }

    /// Adaptive channel budget: adaptiveStep channels at a time, in plan order, until every
    /// target's normalized activation-resolution map moves by at most the tolerance.
    private func scoreUntilConverged<Host: ModelHost>(image: Int, plan: [Int], base: [Float],
                                                      pipeline: ForwardPipeline<MaskBuilder, Host>, chunk: Int,
                                                      activationMagnitude: Float) throws(EngineError) -> ([Int], [Float]) {
        var scores = [Float]()
        var previous: [[Float]]? = nil
        var used = 0
        let writer = try MapWriter(parameters: parameters, activations: activations, outputSize: (activations.h, activations.w),
                                   inputSize: (input.h, input.w))
        while used < plan.count {
            let next = used + Swift.min(parameters.adaptiveStep, plan.count - used)
            scores += try meanScores(plan[used..<next].map { (image: image, channel: $0) }, pipeline: pipeline, chunk: chunk)
            used = next
            let current = try (0..<numTargets).map { t throws(EngineError) in
                writer.convergenceMap(image: image, channels: Array(plan[0..<used]),
                                      weights: try channelWeights(scores, base: base, target: t, channels: used,
                                                                  activationMagnitude: activationMagnitude))
            }
            if let previous {
                let change = zip(previous, current).map { old, new in
                    zip(old, new).map { abs($0 - $1) }.max() ?? 0
                }.max() ?? 0
                if Double(change) <= parameters.adaptiveTolerance { break }
            }
            previous = current
        }
        return (Array(plan[0..<used]), scores)
    }
}
