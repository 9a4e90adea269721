import _CScoreCAM
import ScoreCAMCore

/// What a `scorecam_explainer *` points to: parameters, registered callbacks, the last error and
/// the details of the last successful compute.
final class ExplainerHandle {
    var parameters = Parameters()
    var forward: (fn: scorecam_forward_fn, outputDim: Int, userData: UnsafeMutableRawPointer?)?
    var masksForward: (fn: scorecam_masks_forward_fn, outputDim: Int, userData: UnsafeMutableRawPointer?)?
    var scoring: (fn: scorecam_scoring_fn, userData: UnsafeMutableRawPointer?)?
    var progress: (fn: scorecam_progress_fn, userData: UnsafeMutableRawPointer?)?
    var message = OwnedMessage()
    var details: (images: [ImageDetails], numTargets: Int)?
    /// The batch buffers, kept across computes (no page faults per run).
    let batchBuffers = BatchBufferCache()
    /// Channels the host chose (scorecam_explainer_set_channels); nil: the engine selects.
    var explicitChannels: ChannelList?

    static func from(_ pointer: OpaquePointer?) -> ExplainerHandle? {
        pointer.map { Unmanaged<ExplainerHandle>.fromOpaque(UnsafeRawPointer($0)).takeUnretainedValue() }
    }
}

/// Adapts the C callbacks to the engine's ModelHost. A non-zero return becomes an EngineError
/// that unwinds the run (the engine frees its buffers on the way out). In masks mode the host has
/// a masks forward (and maybe no forward).
struct CallbackHost: ModelHost {
    let forwardFn: scorecam_forward_fn?
    let forwardUserData: UnsafeMutableRawPointer?
    let masksForwardFn: scorecam_masks_forward_fn?
    let outputDim: Int
    let scoringFn: scorecam_scoring_fn?
    let scoringUserData: UnsafeMutableRawPointer?
    let progressFn: scorecam_progress_fn?
    let progressUserData: UnsafeMutableRawPointer?
    let rawTargets: UnsafePointer<Int64>?

    init(_ handle: ExplainerHandle, forward: (fn: scorecam_forward_fn, outputDim: Int, userData: UnsafeMutableRawPointer?),
         targets: UnsafePointer<Int64>?) {
        self.init(handle, forwardFn: forward.fn, masksForwardFn: nil, outputDim: forward.outputDim,
                  userData: forward.userData, targets: targets)
    }

    /// Masks mode: the masks forward replaces the forward.
    init(_ handle: ExplainerHandle, masksForward: (fn: scorecam_masks_forward_fn, outputDim: Int, userData: UnsafeMutableRawPointer?),
         targets: UnsafePointer<Int64>?) {
        self.init(handle, forwardFn: nil, masksForwardFn: masksForward.fn, outputDim: masksForward.outputDim,
                  userData: masksForward.userData, targets: targets)
    }

    private init(_ handle: ExplainerHandle, forwardFn: scorecam_forward_fn?, masksForwardFn: scorecam_masks_forward_fn?,
                 outputDim: Int, userData: UnsafeMutableRawPointer?, targets: UnsafePointer<Int64>?) {
        self.forwardFn = forwardFn
        forwardUserData = userData
        self.masksForwardFn = masksForwardFn
        self.outputDim = outputDim
        scoringFn = handle.scoring?.fn
        scoringUserData = handle.scoring?.userData
        progressFn = handle.progress?.fn
        progressUserData = handle.progress?.userData
        rawTargets = targets
    }

    func forward(_ images: UnsafePointer<Float>, count: Int, c: Int, h: Int, w: Int,
                 outputs: UnsafeMutablePointer<Float>) throws(EngineError) {
        guard let forwardFn else { throw EngineError(.invalidArgument, "no forward callback in masks mode") }
        let rc = forwardFn(forwardUserData, images, Int64(count), Int64(c), Int64(h), Int64(w), outputs, Int64(outputDim))
        guard rc == 0 else { throw EngineError(.callback, "the forward callback returned \(rc)") }
    }

    var takesMasks: Bool { masksForwardFn != nil }

    func forwardMasks(_ masks: UnsafePointer<Float>, images: [Int], input: TensorView,
                      outputs: UnsafeMutablePointer<Float>) throws(EngineError) {
        guard let masksForwardFn else { throw EngineError(.invalidArgument, "no masks forward callback") }
        let indices = images.map { Int64($0) }
        let rc = indices.withUnsafeBufferPointer { indices in
            masksForwardFn(forwardUserData, masks, indices.baseAddress, Int64(images.count), input.data, Int64(input.n),
                           Int64(input.c), Int64(input.h), Int64(input.w), outputs, Int64(outputDim))
        }
        guard rc == 0 else { throw EngineError(.callback, "the masks forward callback returned \(rc)") }
    }

    var scoresTargets: Bool { scoringFn != nil }

    func score(_ outputs: UnsafePointer<Float>, count: Int, targets: ArraySlice<Int>, numTargets: Int,
               scores: UnsafeMutablePointer<Float>) throws(EngineError) {
        guard let scoringFn else { return }
        // The caller's own targets array, at these rows' targets (per image: their image's).
        let rowTargets = rawTargets.map { $0 + targets.startIndex }
        let rc = scoringFn(scoringUserData, outputs, Int64(count), Int64(outputDim), rowTargets, numTargets, scores)
        guard rc == 0 else { throw EngineError(.callback, "the scoring callback returned \(rc)") }
    }

    func progress(done: Int, total: Int) -> Bool {
        guard let progressFn else { return true }
        return progressFn(progressUserData, done, total) == 0
    }
}
