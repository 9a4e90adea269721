import ScoreCAMCore

/// Score-CAM for a model written in Swift, or reached from Swift: the long-lived handle, as
/// `scorecam_explainer` is in C and `Explainer` in Python and C++.
///
/// ```swift
/// let explainer = try Explainer(outputDim: 1000) { images, shape in try model.run(images, shape) }
/// explainer.parameters.selection = .max          // CSKIP: the 16 channels of largest maximum
/// let maps = try explainer.explain(image, activations: activations, targets: [243, 282])
/// ```
///
/// Closures run on the calling thread. One Explainer must not be used by two threads at once;
/// separate Explainers may run in parallel.
public final class Explainer {
    /// Runs the model on `shape.count` images (count x channels x height x width, lent for the
    /// call) and returns count x outputDim values. A thrown error ends the run: `explain` throws
    /// `ScoreCAMError` with code `.callback` and that error as `underlying`.
    public typealias Forward = (_ images: Span<Float>, _ shape: BatchShape) throws -> [Float]
    /// Turns `count` rows of outputDim model outputs into count x targets.count scores.
    public typealias Scoring = (_ outputs: Span<Float>, _ count: Int, _ targets: [Int]) throws -> [Float]
    /// Called after each batch with the forward passes done and planned; false cancels the run.
    public typealias Progress = (_ done: Int, _ total: Int) -> Bool

    /// Every knob of the runs to come; starts as `preset`'s.
    public var parameters: Parameters
    /// The length of one output row of the model.
    public let outputDim: Int
    public var forward: Forward
    /// Optional: scores targets from outputs. Without it, targets are class indices and the
    /// score is `parameters.score` of that output.
    public var scoring: Scoring?
    public var progress: Progress?
    /// Channels to explain, as given, for every image (e.g. a ranking of your own); nil: the
    /// engine selects them by `parameters.selection`.
    public var channels: [Int]?
    /// Per image, the channels, scores and weights of the last successful `explain`.
    public private(set) var details: [ImageDetails] = []
    /// The masked-image batches, kept between runs (no page faults per run).
    private let batchBuffers = BatchBufferCache()

    /// - Throws: `.invalidArgument` when `outputDim` is not positive.
    public init(outputDim: Int, preset: Preset = .seed, forward: @escaping Forward) throws(ScoreCAMError) {
        guard outputDim > 0 else { throw ScoreCAMError(.invalidArgument, "outputDim must be positive, got \(outputDim)") }
        self.outputDim = outputDim
        self.forward = forward
        self.parameters = Parameters().applying(preset)
    }

    /// The height and width of the maps `explain` returns for these inputs.
    public func mapSize(input: Tensor, activations: Tensor) throws(ScoreCAMError) -> (height: Int, width: Int) {
        let (_, _, h, w) = try input.nchw("the input")
        let (_, _, ah, aw) = try activations.nchw("the activations")
        return parameters.mapSize(input: (height: h, width: w), activations: (height: ah, width: aw))
    }

    /// Explains each image for each target from one set of masked forward passes.
    ///
    /// - Parameters:
    ///   - input: the images, (C, H, W) or (N, C, H, W), preprocessed as the model wants them.
    ///   - activations: the explained layer's output for them, (K, h, w) or (N, K, h, w).
    ///   - targets: class indices, or with `scoring` whatever it understands.
    /// - Returns: the maps, (N, T, mapHeight, mapWidth): `mapSize(input:activations:)`.
    /// - Throws: `ScoreCAMError`; then `details` is empty.
    public func explain(_ input: Tensor, activations: Tensor, targets: [Int]) throws(ScoreCAMError) -> Tensor {
        try explain(input, activations: activations, targets: targets, count: targets.count, perImage: false)
    }

    /// Explains each image for its own targets (`targetsPerImage[i]` for image i, as many for
    /// every image), in one run: the masked images of all images share the forward batches. Each
    /// image's maps are the ones `explain` gives it alone, when the model's outputs for an image do
    /// not depend on the rest of its batch.
    /// - Returns: the maps, (N, T, mapHeight, mapWidth).
    public func explain(_ input: Tensor, activations: Tensor, targetsPerImage: [[Int]]) throws(ScoreCAMError) -> Tensor {
        let count = try Self.rowLength(targetsPerImage)
        return try explain(input, activations: activations, targets: targetsPerImage.flatMap { $0 }, count: count,
                           perImage: true)
    }

    /// The common length of per-image target lists (at least one each).
    private static func rowLength(_ rows: [[Int]]) throws(ScoreCAMError) -> Int {
        guard let count = rows.first?.count, count > 0, rows.allSatisfy({ $0.count == count }) else {
            throw ScoreCAMError(.invalidArgument, "per-image targets must be lists of the same length, at least one target each")
        }
        return count
    }

    private func explain(_ input: Tensor, activations: Tensor, targets: [Int], count: Int,
                         perImage: Bool) throws(ScoreCAMError) -> Tensor {
        details = []
        let (n, c, h, w) = try input.nchw("the input")
        let (an, k, ah, aw) = try activations.nchw("the activations")
        let size = try mapSize(input: input, activations: activations)
        var maps = try Tensor(shape: [n, Swift.max(count, 1), size.height, size.width])
        let thrown = ThrownError()
        let host = closureHost(thrown)
        do {
            details = try input.scalars.withUnsafeBufferPointer { x throws(EngineError) in
                try activations.scalars.withUnsafeBufferPointer { a throws(EngineError) in
                    var run = ExplanationRun(
                        parameters: parameters, input: TensorView(x.baseAddress!, n, c, h, w),
                        activations: TensorView(a.baseAddress!, an, k, ah, aw), targets: targets, numTargets: count)
                    run.targetsPerImage = perImage
                    run.batchBuffers = batchBuffers
                    run.explicitChannels = channels
                    return try maps.scalars.withUnsafeMutableBufferPointer { m throws(EngineError) in
                        try run.run(host: host, maps: m.baseAddress!, mapsCapacity: m.count)
                    }
                }
            }
        } catch {
            throw ScoreCAMError(error, underlying: thrown.error)
        }
        return maps
    }

    /// The closures as the engine's host; what they throw lands in `thrown`.
    private func closureHost(_ thrown: ThrownError) -> ClosureHost {
        ClosureHost(outputDim: outputDim, forwardClosure: forward, scoringClosure: scoring,
                    progressClosure: progress, thrown: thrown)
    }

    /// Faithfulness of maps (from `explain`) through the same model: one value per image and
    /// target, (N x T) in that order.
    public func evaluate(_ metric: Metric, input: Tensor, maps: Tensor, targets: [Int]) throws(ScoreCAMError) -> [Double] {
        try evaluate(metric, input: input, maps: maps, targets: targets, perImage: false)
    }

    /// `evaluate` with each image's own targets (as `explain(_:activations:targetsPerImage:)`).
    public func evaluate(_ metric: Metric, input: Tensor, maps: Tensor,
                         targetsPerImage: [[Int]]) throws(ScoreCAMError) -> [Double] {
        _ = try Self.rowLength(targetsPerImage)
        return try evaluate(metric, input: input, maps: maps, targets: targetsPerImage.flatMap { $0 }, perImage: true)
    }

    private func evaluate(_ metric: Metric, input: Tensor, maps: Tensor, targets: [Int],
                          perImage: Bool) throws(ScoreCAMError) -> [Double] {
        let (n, c, h, w) = try input.nchw("the input")
        let (mn, t, mh, mw) = try maps.nchw("the maps")
        guard mn == n else { throw ScoreCAMError(.shape, "maps hold \(mn) images but the input holds \(n)") }
        let thrown = ThrownError()
        let host = closureHost(thrown)
        do {
            return try input.scalars.withUnsafeBufferPointer { x throws(EngineError) in
                try maps.scalars.withUnsafeBufferPointer { m throws(EngineError) in
                    var evaluation = Evaluation(parameters: parameters, input: TensorView(x.baseAddress!, n, c, h, w),
                                                maps: TensorView(m.baseAddress!, n, t, mh, mw), targets: targets)
                    evaluation.targetsPerImage = perImage
                    return try evaluation.run(metric, host: host)
                }
            }
        } catch {
            throw ScoreCAMError(error, underlying: thrown.error)
        }
    }

    /// The masks a run uses for `channels` of one image's activations (K, h, w), at `size`:
    /// (channels.count, 1, height, width); with `input` (C, height, width), the masked images
    /// (channels.count, C, height, width) instead.
    public func masks(activations: Tensor, size: (height: Int, width: Int), channels: [Int],
                      input: Tensor? = nil) throws(ScoreCAMError) -> Tensor {
        let (an, k, ah, aw) = try activations.nchw("the activations")
        guard an == 1 else { throw ScoreCAMError(.shape, "masks are rendered for one image at a time") }
        let c = try input.map { x throws(ScoreCAMError) in
            let (n, c, h, w) = try x.nchw("the input")
            guard n == 1, h == size.height, w == size.width else {
                throw ScoreCAMError(.shape, "the input must be one image of \(size.height)x\(size.width), got \(Tensor.describe(x.shape))")
            }
            return c
        } ?? 1
        var out = try Tensor(shape: [Swift.max(channels.count, 1), c, size.height, size.width])
        guard !channels.isEmpty else { throw ScoreCAMError(.invalidArgument, "no channels to render") }
        let parameters = self.parameters
        do {
            try activations.scalars.withUnsafeBufferPointer { a throws(EngineError) in
                try out.scalars.withUnsafeMutableBufferPointer { o throws(EngineError) in
                    let view = TensorView(a.baseAddress!, 1, k, ah, aw)
                    if let input {
                        try input.scalars.withUnsafeBufferPointer { x throws(EngineError) in
                            try renderMasks(parameters: parameters, input: TensorView(x.baseAddress!, 1, c, size.height, size.width),
                                            size: (size.height, size.width), activations: view, channels: channels, into: o.baseAddress!)
                        }
                    } else {
                        try renderMasks(parameters: parameters, input: nil, size: (size.height, size.width),
                                        activations: view, channels: channels, into: o.baseAddress!)
                    }
                }
            }
        } catch {
            throw ScoreCAMError(error, underlying: nil)
        }
        return out
    }
}
