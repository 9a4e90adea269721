#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How an activation channel is resized to the input's size. Every mode follows PyTorch's
/// `F.interpolate` to the letter, because the anchor libraries are PyTorch code.
public enum UpsampleMode: Int, Sendable, CaseIterable {
    /// `mode="bicubic", align_corners=False`, a = -0.75, borders clamped.
    case bicubic = 0
    /// `mode="bilinear", align_corners=False`.
    case bilinear = 1
    /// `mode="bilinear", align_corners=True` (`nn.UpsamplingBilinear2d`).
    case bilinearAlignCorners = 2
}

/// Which channels get a masked forward pass.
public enum ChannelSelection: Int, Sendable, CaseIterable {
    /// Every channel, in order.
    case all = 0
    /// CSKIP: the top K' channels by spatial maximum, descending.
    case max = 1
    /// Faster-Score-CAM: the top K' channels by spatial standard deviation, descending.
    case std = 2
}

/// How channel scores become channel weights.
public enum Weighting: Int, Sendable, CaseIterable {
    /// Softmax over the channels of the scores.
    case softmax = 0
    /// The scores themselves.
    case raw = 1
}

/// What a class-index target scores when the host gives no scoring function.
public enum ScoreKind: Int, Sendable, CaseIterable {
    /// The output value at the class index.
    case logit = 0
    /// The softmax over the output row, at the class index.
    case softmax = 1
}

/// Every knob of a Score-CAM run. Presets are named sets of these values.
public struct Parameters: Equatable, Sendable {
    public var batchSize = 128
    public var upsample = UpsampleMode.bicubic
    public var selection = ChannelSelection.all
    public var selectionCount = 16
    public var skipConstant = false
    public var normEps = 1e-10
    public var weighting = Weighting.softmax
    public var subtractBase = true
    public var score = ScoreKind.logit
    public var baseline: Float = 0
    public var normalizeMap = false
    /// Worker threads that build masked images; 0 means one per core.
    public var threads = 0

    public init() {}

    public static let presetNames = ["seed"]

    /// Sets everything but the execution knobs (batch size, threads) to a named preset.
    /// Returns false for an unknown name.
    public mutating func applyPreset(_ name: String) -> Bool {
        var preset = Parameters()
        switch name {
        case "seed":
            // tiskw/scorecam-pytorch: the defaults above are exactly the seed's choices.
            break
        default:
            return false
        }
        preset.batchSize = batchSize
        preset.threads = threads
        self = preset
        return true
    }

    /// Threads that build masked images: `threads`, or one per online core.
    var workerThreads: Int { threads > 0 ? threads : Swift.max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// The unmasked input's score is needed only where it changes the result: softmax over
    /// channels is invariant to subtracting one number from every score.
    var needsBaseScore: Bool { subtractBase && weighting != .softmax }
}
