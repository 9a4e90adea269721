/// Faithfulness metrics of a saliency map, computed with the same forward callback.
public enum Metric: Int, Sendable, CaseIterable {
    /// Score-CAM paper / torchcam: max(0, Y - O) / (Y + 1e-7), Y the score of the image, O the
    /// score of the image multiplied by the map (min-max normalized, resized to the input).
    case averageDrop = 0
    /// 1 if O > Y, else 0.
    case increaseInConfidence = 1
    /// RISE: area under the score curve while the highest-ranked positions are restored from the
    /// image onto the baseline, over the fraction restored (trapezoid rule).
    case insertion = 2
    /// RISE: the same while the highest-ranked positions are replaced by the baseline.
    case deletion = 3
}

/// One model input of a metric.
struct MetricItem: Sendable {
    enum Kind: Sendable {
        case original, baseline, masked
        /// The `count` highest-ranked positions from the baseline, the rest from the image.
        case deleted(count: Int)
        /// The `count` highest-ranked positions from the image, the rest from the baseline.
        case inserted(count: Int)
    }

    let image: Int
    let target: Int
    let kind: Kind
}

/// Writes metric inputs: perturbations of the input driven by each (image, target) map.
struct MetricBuilder: BatchBuilder {
    let input: TensorView
    /// images x targets x H x W: maps normalized and resized to the input (average drop).
    let masks: FloatBuffer?
    /// images x targets x H x W: the rank of each position, 0 = highest map value (insertion, deletion).
    let ranks: HeapBuffer<Int32>?
    let numTargets: Int
    let baseline: Float
    let threads: Int

    func image(of item: MetricItem) -> Int { item.image }

    func build(_ items: ArraySlice<MetricItem>, into batch: UnsafeMutablePointer<Float>) {
        let first = items.startIndex
        nonisolated(unsafe) let batch = batch
        forEachItemInParallel(items.count, threads: threads) { _, indices in
            for i in indices { buildOne(items[first + i], into: batch + i * input.imageSize) }
        }
    }

    private func buildOne(_ item: MetricItem, into dst: UnsafeMutablePointer<Float>) {
        let size = input.planeSize
        let image = input.data + item.image * input.imageSize
        let plane = (item.image * numTargets + item.target) * size
        for c in 0..<input.c {
            let x = image + c * size, out = dst + c * size
            switch item.kind {
            case .original: out.update(from: x, count: size)
            case .baseline: out.update(repeating: baseline, count: size)
            case .masked:
                let mask = masks!.pointer + plane
                for p in 0..<size { out[p] = x[p] * mask[p] }
            case .deleted(let count):
                let rank = ranks!.pointer + plane
                for p in 0..<size { out[p] = rank[p] < count ? baseline : x[p] }
            case .inserted(let count):
                let rank = ranks!.pointer + plane
                for p in 0..<size { out[p] = rank[p] < count ? x[p] : baseline }
            }
        }
    }
}

/// Evaluates maps (images x targets x mh x mw, as `ExplanationRun.run` wrote them) of `input`.
package struct Evaluation {
    package let parameters: Parameters
    package let input: TensorView
    /// n = images, c = targets, h x w = the maps' size.
    package let maps: TensorView
    package let targets: [Int]
    /// true: `targets` holds images x targets values, each image's own (evaluate_per_image).
    package var targetsPerImage = false

    private var runTargets: RunTargets { RunTargets(targets, count: maps.c, perImage: targetsPerImage) }

    package init(parameters: Parameters, input: TensorView, maps: TensorView, targets: [Int]) {
        self.parameters = parameters
        self.input = input
        self.maps = maps
        self.targets = targets
    }

    /// The perturbation counts of insertion / deletion: 0, s, 2s, ... and finally every position,
    /// s = ceil(positions / steps) (torchcam's schedule).
    var counts: [Int] {
        let positions = input.planeSize
        let step = (positions + parameters.metricSteps - 1) / parameters.metricSteps
        return Array(stride(from: 0, to: positions, by: step)) + [positions]
    }

    /// Score calls stream the work items in chunks of at most this many items x targets scores.
    private static let chunkScores = 1 << 20

    /// One value per image and target (images x targets).
    ///
    /// The work items (the originals, then the baselines for insertion/deletion, then every
    /// perturbation of every map) are computed from their index, a chunk at a time; of a
    /// perturbation only its own target's score is kept.
    package func run(_ metric: Metric, host: some ModelHost) throws(EngineError) -> [Double] {
        try validate(host: host)
        let numTargets = maps.c, n = input.n
        let counts = self.counts
        let interior = counts.count - 2
        let perMap = metric.usesMasks ? 1 : interior
        let pairCount = try Sizes.product([n, numTargets], "the metric's maps")
        let perturbations = try Sizes.product([pairCount, perMap], "the metric's forward passes")
        let heads = metric.usesMasks ? n : 2 * n
        let itemCount = try Sizes.sum(perturbations, heads, "the metric's forward passes")
        // What exists at once besides the batches: one score per perturbation, the head scores,
        // and the per-map masks or ranks at the input's size.
        try Sizes.requireAffordable(
            bytes: Sizes.sum(Sizes.bytes([itemCount], elementSize: 4, "the metric's scores"),
                             Sizes.bytes([n, numTargets, input.h, input.w], elementSize: 4, "the resized maps"),
                             "the metric's working memory"),
            "the metric's scores and resized maps")
        func item(_ index: Int) -> MetricItem {
            if index < n { return MetricItem(image: index, target: 0, kind: .original) }
            if !metric.usesMasks && index < 2 * n { return MetricItem(image: index - n, target: 0, kind: .baseline) }
            let p = (index - heads) / perMap, step = (index - heads) % perMap
            let (b, t) = (p / numTargets, p % numTargets)
            switch metric {
            case .averageDrop, .increaseInConfidence: return MetricItem(image: b, target: t, kind: .masked)
            case .insertion: return MetricItem(image: b, target: t, kind: .inserted(count: counts[1 + step]))
            case .deletion: return MetricItem(image: b, target: t, kind: .deleted(count: counts[1 + step]))
            }
        }
        var scoring = parameters
        scoring.score = parameters.metricScore
        let builder = MetricBuilder(input: input, masks: metric.usesMasks ? try normalizedMasks() : nil,
                                    ranks: metric.usesMasks ? nil : try positionRanks(), numTargets: numTargets,
                                    baseline: parameters.metricBaseline, threads: parameters.workerThreads)
        let chunk = Swift.max(1, Swift.min(itemCount, Self.chunkScores / numTargets))
        let pipeline = try ForwardPipeline(builder: builder, host: host, parameters: scoring, targets: runTargets,
                                           maxItems: chunk, total: itemCount)
        var headScores = [Float](repeating: 0, count: heads * numTargets)  // every target of each head
        var own = [Float](repeating: 0, count: perturbations)               // a perturbation's own target
        var start = 0
        while start < itemCount {
            let end = Swift.min(start + chunk, itemCount)
            let items = (start..<end).map(item)
            let scores = try pipeline.score(items)
            for (i, index) in (start..<end).enumerated() {
                if index < heads {
                    for t in 0..<numTargets { headScores[index * numTargets + t] = scores[i * numTargets + t] }
                } else {
                    own[index - heads] = scores[i * numTargets + items[i].target]
                }
            }
            start = end
        }

        return (0..<pairCount).map { p in
            let (b, t) = (p / numTargets, p % numTargets)
            let original = Double(headScores[b * numTargets + t])
            switch metric {
            case .averageDrop, .increaseInConfidence:
                let masked = Double(own[p])
                return metric == .averageDrop ? Swift.max(0, original - masked) / (original + 1e-7)
                                              : (original < masked ? 1 : 0)
            case .insertion, .deletion:
                let baseline = Double(headScores[(n + b) * numTargets + t])
                let middle = (0..<interior).map { Double(own[p * interior + $0]) }
                let curve = metric == .insertion ? [baseline] + middle + [original] : [original] + middle + [baseline]
                let positions = Double(input.planeSize)
                return (1..<counts.count).reduce(0.0) { area, i in
                    area + Double(counts[i] - counts[i - 1]) / positions * (curve[i] + curve[i - 1]) / 2
                }
            }
        }
    }

    private func validate(host: some ModelHost) throws(EngineError) {
        try parameters.validate()
        guard input.n > 0, input.c > 0, input.h > 0, input.w > 0 else {
            throw EngineError(.shape, "input dimensions must be positive, got \(input.n)x\(input.c)x\(input.h)x\(input.w)")
        }
        guard maps.n == input.n, maps.c > 0, maps.h > 0, maps.w > 0 else {
            throw EngineError(.shape, "maps must be \(input.n) images x targets x h x w, got \(maps.n)x\(maps.c)x\(maps.h)x\(maps.w)")
        }
        guard host.outputDim > 0 else { throw EngineError(.invalidArgument, "the model's output dimension must be positive") }
        _ = try Sizes.product([input.n, input.c, input.h, input.w], elementSize: 4, "the input")
        _ = try Sizes.product([maps.n, maps.c, maps.h, maps.w], elementSize: 4, "the maps")
        try requireClassTargets(runTargets, images: input.n, host: host)
        try requireFinite(input.data, count: input.count, what: "the input")
        try requireSafeMagnitude(requireFinite(maps.data, count: maps.count, what: "the maps"), what: "the maps")
    }

    /// Each map min-max normalized at its own size, then resized to the input (bilinear,
    /// align_corners=False, as torchcam resizes CAMs).
    private func normalizedMasks() throws(EngineError) -> FloatBuffer {
        let result = try FloatBuffer(count: Sizes.product([maps.n, maps.c, input.h, input.w], elementSize: 4, "the resized maps"))
        let resampler = Resampler(from: (maps.h, maps.w), to: (input.h, input.w), mode: .bilinear)
        let plane = try FloatBuffer(count: maps.planeSize)
        let scratch = try FloatBuffer(count: resampler.scratchCount)
        for index in 0..<(maps.n * maps.c) {
            plane.pointer.update(from: maps.data + index * maps.planeSize, count: maps.planeSize)
            normalizeMinMax(plane.pointer, count: maps.planeSize, eps: 0)
            resampler.resize(plane.pointer, into: result.pointer + index * input.planeSize, scratch: scratch.pointer)
        }
        return result
    }

    /// The rank of every input position in each map (resized to the input), highest first, ties
    /// in position order.
    private func positionRanks() throws(EngineError) -> HeapBuffer<Int32> {
        let size = input.planeSize
        guard size <= Int(Int32.max) else {
            throw EngineError(.shape, "insertion and deletion rank at most \(Int32.max) positions, the input has \(size)")
        }
        let result = try HeapBuffer<Int32>(count: Sizes.product([maps.n, maps.c, size], elementSize: 4, "the position ranks"))
        let resampler = Resampler(from: (maps.h, maps.w), to: (input.h, input.w), mode: .bilinear)
        let resized = try FloatBuffer(count: size)
        let scratch = try FloatBuffer(count: resampler.scratchCount)
        let values = resized.pointer
        for index in 0..<(maps.n * maps.c) {
            let source = maps.data + index * maps.planeSize
            if maps.h == input.h && maps.w == input.w {
                values.update(from: source, count: size)
            } else {
                resampler.resize(source, into: values, scratch: scratch.pointer)
            }
            let order = (0..<size).sorted { values[$0] != values[$1] ? values[$0] > values[$1] : $0 < $1 }
            for (rank, position) in order.enumerated() { result.pointer[index * size + position] = Int32(rank) }
        }
        return result
    }
}

extension Metric {
    var usesMasks: Bool { self == .averageDrop || self == .increaseInConfidence }
}
