/// A read-only NCHW float32 tensor owned by the caller.
package struct TensorView: @unchecked Sendable {
    package let data: UnsafePointer<Float>
    package let n: Int, c: Int, h: Int, w: Int

    package init(_ data: UnsafePointer<Float>, _ n: Int, _ c: Int, _ h: Int, _ w: Int) {
        self.data = data
        self.n = n
        self.c = c
        self.h = h
        self.w = w
    }

    package var planeSize: Int { h * w }
    package var imageSize: Int { c * h * w }
    package var count: Int { n * c * h * w }

    /// Channel `channel` of image `image`: h * w contiguous floats.
    func plane(_ image: Int, _ channel: Int) -> UnsafePointer<Float> {
        data + (image * c + channel) * planeSize
    }
}

/// The model side of a run, implemented by whoever embeds the engine (the C ABI layer, a test).
/// The engine calls every method on the thread that called `ExplanationRun.run`.
package protocol ModelHost {
    /// Length of one output row.
    var outputDim: Int { get }
    /// Runs `count` images (count x c x h x w) and writes count x outputDim floats.
    func forward(_ images: UnsafePointer<Float>, count: Int, c: Int, h: Int, w: Int,
                 outputs: UnsafeMutablePointer<Float>) throws(EngineError)
    /// Whether `score` is implemented; otherwise targets are class indices.
    var scoresTargets: Bool { get }
    /// Turns count x outputDim outputs into count x numTargets scores. targets: the run's targets
    /// for these rows, a slice of all it was given (startIndex: where they start in that list).
    func score(_ outputs: UnsafePointer<Float>, count: Int, targets: ArraySlice<Int>, numTargets: Int,
               scores: UnsafeMutablePointer<Float>) throws(EngineError)
    /// Reports progress; returning false cancels the run.
    func progress(done: Int, total: Int) -> Bool
    /// Masks mode: whether explanations call `forwardMasks` instead of `forward`.
    var takesMasks: Bool { get }
    /// Masks mode: runs the masked images b + (input[images[i]] - b) * masks[i] (count masks of
    /// h x w, broadcast over the channels; b the baseline), formed by the host, and writes
    /// count x outputDim floats.
    func forwardMasks(_ masks: UnsafePointer<Float>, images: [Int], input: TensorView,
                      outputs: UnsafeMutablePointer<Float>) throws(EngineError)
}

extension ModelHost {
    package var scoresTargets: Bool { false }
    package func score(_ outputs: UnsafePointer<Float>, count: Int, targets: ArraySlice<Int>, numTargets: Int,
                      scores: UnsafeMutablePointer<Float>) throws(EngineError) {}
    package func progress(done: Int, total: Int) -> Bool { true }
    package var takesMasks: Bool { false }
    package func forwardMasks(_ masks: UnsafePointer<Float>, images: [Int], input: TensorView,
                             outputs: UnsafeMutablePointer<Float>) throws(EngineError) {
        throw EngineError(.invalidArgument, "this model host does not take masks")
    }
}
