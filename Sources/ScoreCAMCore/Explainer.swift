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
public struct Explainer {
    public let parameters: Parameters
    public let input: TensorView
    public let activations: TensorView
    public let targets: [Int]
    public let numTargets: Int
    /// Channels chosen by the host, explained as given for every image instead of `selection`.
    public var explicitChannels: [Int]? = nil

    public init(parameters: Parameters, input: TensorView, activations: TensorView,
                targets: [Int], numTargets: Int) {
        self.parameters = parameters
        self.input = input
        self.activations = activations
        self.targets = targets
        self.numTargets = numTargets
    }

    /// The size of one map: the input's, or the activations' (torchcam).
    public var mapSize: (h: Int, w: Int) {
        parameters.mapAtActivationSize ? (activations.h, activations.w) : (input.h, input.w)
    }

    /// Floats `run` writes: images x targets x map height x map width.
    public var mapsCount: Int { input.n * numTargets * mapSize.h * mapSize.w }

    /// Writes the maps and returns the per-image details. On error, `maps` is untouched.
    public func run(host: some ModelHost, maps: UnsafeMutablePointer<Float>,
                    mapsCapacity: Int) throws(EngineError) -> [ImageDetails] {
        try validate(host: host, mapsCapacity: mapsCapacity)
        let adaptive = parameters.adaptiveTolerance > 0
        var plans = try (0..<input.n).map { image throws(EngineError) in
            if let explicitChannels {
                return try explicitChannelPlan(explicitChannels, activations: activations, image: image)
            }
            return try selectChannels(activations, image: image, parameters: parameters, ordered: adaptive)
        }
        let samples = parameters.samplesPerChannel
        let needsBase = parameters.needsBaseScore
        let planned = plans.reduce(0) { $0 + $1.count } * samples + (needsBase ? input.n : 0)
        let chunk = adaptive ? parameters.adaptiveStep * samples : planned
        let pipeline = try ForwardPipeline(
            builder: MaskBuilder(input: input, activations: activations, parameters: parameters), host: host,
            parameters: parameters, targets: targets, numTargets: numTargets,
            maxItems: Swift.max(chunk, needsBase ? input.n : 0), total: planned)

        let base: [[Float]] = needsBase
            ? try perImage(pipeline.score((0..<input.n).map { WorkItem(image: $0, channel: nil) }))
            : Array(repeating: [Float](repeating: .nan, count: numTargets), count: input.n)
        var scores = [[Float]](repeating: [], count: input.n)
        if adaptive {
            for image in 0..<input.n {
                (plans[image], scores[image]) = try scoreUntilConverged(image: image, plan: plans[image],
                                                                          base: base[image], pipeline: pipeline)
            }
        } else {
            let items = plans.enumerated().flatMap { image, plan in self.items(image: image, channels: plan[...]) }
            let all = try pipeline.score(items)
            var offset = 0
            for (image, plan) in plans.enumerated() {
                let count = plan.count * samples * numTargets
                scores[image] = meanOverSamples(Array(all[offset..<(offset + count)]), channels: plan.count)
                offset += count
            }
        }

        // Everything that can fail has run: only now touch the caller's buffer.
        let writer = MapWriter(parameters: parameters, activations: activations, outputSize: mapSize,
                               inputSize: (input.h, input.w))
        var details = [ImageDetails]()
        for (image, plan) in plans.enumerated() {
            var weights = [Float](repeating: 0, count: plan.count * numTargets)
            for t in 0..<numTargets {
                let w = channelWeights(scores[image], base: base[image], target: t)
                for j in 0..<plan.count { weights[j * numTargets + t] = Float(w[j]) }
                writer.write(image: image, channels: plan, weights: w,
                             into: maps + (image * numTargets + t) * mapSize.h * mapSize.w)
            }
            details.append(ImageDetails(channels: plan, scores: scores[image], weights: weights, baseScores: base[image]))
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
            throw EngineError(.bufferTooSmall, "the maps buffer holds \(mapsCapacity) floats but \(mapsCount) are needed (\(input.n) images x \(numTargets) targets x \(mapSize.h) x \(mapSize.w))")
        }
        try requireClassTargets(targets, count: numTargets, host: host)
        try requireFinite(input.data, count: input.count, what: "the input")
        try requireFinite(activations.data, count: activations.count, what: "the activations")
    }

    /// Every forward pass of some channels of one image: each channel's samples, consecutively.
    private func items(image: Int, channels: ArraySlice<Int>) -> [WorkItem] {
        channels.flatMap { channel in
            (0..<parameters.samplesPerChannel).map { WorkItem(image: image, channel: channel, sample: $0) }
        }
    }

    /// (channels x samples) x T item scores -> channels x T, averaging each channel's samples.
    private func meanOverSamples(_ itemScores: [Float], channels: Int) -> [Float] {
        let samples = parameters.samplesPerChannel
        guard samples > 1 else { return itemScores }
        var result = [Float](repeating: 0, count: channels * numTargets)
        for j in 0..<channels {
            for t in 0..<numTargets {
                var sum = 0.0
                for s in 0..<samples { sum += Double(itemScores[(j * samples + s) * numTargets + t]) }
                result[j * numTargets + t] = Float(sum / Double(samples))
            }
        }
        return result
    }

    /// One row of numTargets scores per image.
    private func perImage(_ flat: [Float]) -> [[Float]] {
        stride(from: 0, to: flat.count, by: numTargets).map { Array(flat[$0..<($0 + numTargets)]) }
    }

    /// The weights of target t from channel scores (K' x T), shifted by the base score if asked.
    private func channelWeights(_ scores: [Float], base: [Float], target t: Int) -> [Double] {
        let shift = parameters.needsBaseScore ? Double(base[t]) : 0
        let column = stride(from: t, to: scores.count, by: numTargets).map { Double(scores[$0]) - shift }
        return ScoreCAMCore.channelWeights(column, weighting: parameters.weighting)
    }

    /// Adaptive channel budget: adaptiveStep channels at a time, in plan order, until every
    /// target's normalized activation-resolution map moves by at most the tolerance.
    private func scoreUntilConverged<Host: ModelHost>(image: Int, plan: [Int], base: [Float],
                                                      pipeline: ForwardPipeline<MaskBuilder, Host>) throws(EngineError) -> ([Int], [Float]) {
        var scores = [Float]()
        var previous: [[Float]]? = nil
        var used = 0
        let writer = MapWriter(parameters: parameters, activations: activations, outputSize: (activations.h, activations.w),
                               inputSize: (input.h, input.w))
        while used < plan.count {
            let next = Swift.min(used + parameters.adaptiveStep, plan.count)
            let itemScores = try pipeline.score(items(image: image, channels: plan[used..<next]))
            scores += meanOverSamples(itemScores, channels: next - used)
            used = next
            let current = (0..<numTargets).map { t in
                writer.convergenceMap(image: image, channels: Array(plan[0..<used]),
                                      weights: channelWeights(scores, base: base, target: t))
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

/// Throws `.nonFinite` naming the first NaN or Inf.
func requireFinite(_ values: UnsafePointer<Float>, count: Int, what: String) throws(EngineError) {
    for i in 0..<count where !values[i].isFinite {
        throw EngineError(.nonFinite, "\(what) hold a non-finite value (\(values[i])) at flat index \(i)")
    }
}
