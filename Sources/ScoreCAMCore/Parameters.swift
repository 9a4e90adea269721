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

/// Which gradient-free CAM method scores the channels.
public enum Method: Int, Sendable, CaseIterable {
    /// Score-CAM: one masked forward per channel.
    case scoreCAM = 0
    /// SS-CAM (torchcam): `samples` forwards per channel, Gaussian noise of `noiseStd` added to
    /// the normalized mask; the channel's score is the mean.
    case ssCAM = 1
    /// IS-CAM (torchcam): `samples` forwards per channel with the masked input scaled by an
    /// accumulating factor sum_{j<=i} j/N; the channel's score is the mean.
    case isCAM = 2

    /// torchcam's sample counts.
    var defaultSamples: Int {
        switch self {
        case .scoreCAM: 1
        case .ssCAM: 35
        case .isCAM: 10
        }
    }
}

/// Every knob of a Score-CAM run. Presets are named sets of these values.
public struct Parameters: Equatable, Sendable {
    // Execution: presets leave these alone.
    public var batchSize = 128
    /// Worker threads that build masked images; 0 means one per core.
    public var threads = 0
    /// Bytes the batch buffers of a run may hold together (two masked-image batches, the outputs
    /// and the scores); the batch shrinks to fit, down to one image.
    public var batchMemory = 1 << 30

    // Channels.
    public var selection = ChannelSelection.all
    public var selectionCount = 16
    public var skipConstant = false

    // Masks: M = (U - min U) / (max U - min U + normEps), U = up(A); or, with
    // normalizeMaskFirst, M = up((A - min A) / (max A - min A + normEps)) (torchcam).
    public var upsample = UpsampleMode.bicubic
    public var normalizeMaskFirst = false
    public var normEps = 1e-10
    public var baseline: Float = 0

    // Scores and weights.
    public var method = Method.scoreCAM
    /// Forward passes per channel for SS-CAM / IS-CAM; 0 means the method's default (35 / 10).
    public var samples = 0
    public var noiseStd = 2.0
    public var seed: UInt64 = 0
    public var score = ScoreKind.logit
    public var subtractBase = true
    public var weighting = Weighting.softmax

    // The map: L = sum_k w_k A_k, then ReLU at full resolution after upsampling (seed, paper) or
    // at activation resolution before it (reluBeforeUpsampling: pytorch-grad-cam, torchcam).
    public var reluBeforeUpsampling = false
    /// How the map is upsampled; nil means as the masks (then sum_k w_k up(A_k) == up(sum_k w_k A_k)).
    public var mapUpsample: UpsampleMode? = nil
    /// Leave the map at activation size (torchcam returns h x w maps).
    public var mapAtActivationSize = false
    /// Min-max normalization (x - min) / (max - min + mapEps) of the map at activation resolution
    /// (right after a low-resolution ReLU) and/or at the end.
    public var normalizeLowMap = false
    public var normalizeMap = false
    public var mapEps = 0.0

    // Adaptive channel budget: when adaptiveTolerance > 0, channels are processed in descending
    // order of the selection criterion, adaptiveStep at a time, until the normalized map changes
    // by at most the tolerance.
    public var adaptiveTolerance = 0.0
    public var adaptiveStep = 8

    // Metrics (kept across presets, like the execution knobs): what a metric scores, the
    // insertion/deletion schedule and the value of removed pixels.
    public var metricScore = ScoreKind.softmax
    public var metricSteps = 20
    public var metricBaseline: Float = 0

    public init() {}

    package static let presetNames = ["seed", "gradcam", "torchcam", "paper"]

    /// Sets everything but the execution knobs (batch size, threads) to a named preset.
    /// Returns false for an unknown name.
    package mutating func applyPreset(_ name: String) -> Bool {
        var preset = Parameters()
        switch name {
        case "seed":
            // tiskw/scorecam-pytorch: the defaults above are exactly the seed's choices.
            break
        case "gradcam":
            // pytorch-grad-cam 1.5.7 ScoreCAM: UpsamplingBilinear2d (align_corners=True) masks with
            // eps 1e-8, softmax of raw logits; cam = ReLU(sum w A) at activation size, scaled
            // (x - min) / (max + 1e-7), cv2.resize (bilinear, half-pixel), then scaled again.
            preset.upsample = .bilinearAlignCorners
            preset.normEps = 1e-8
            preset.subtractBase = false
            preset.reluBeforeUpsampling = true
            preset.mapUpsample = .bilinear
            preset.normalizeLowMap = true
            preset.normalizeMap = true
            preset.mapEps = 1e-7
        case "torchcam":
            // torchcam 0.5.0 ScoreCAM: activations normalized (eps 1e-8) then upsampled bilinear
            // (align_corners=False); softmax of logit minus the unmasked logit; map ReLU(sum w A)
            // normalized (eps 1e-8) and returned at activation size.
            preset.upsample = .bilinear
            preset.normalizeMaskFirst = true
            preset.normEps = 1e-8
            preset.reluBeforeUpsampling = true
            preset.mapAtActivationSize = true
            preset.normalizeMap = true
            preset.mapEps = 1e-8
        case "paper":
            // haofanwang/Score-CAM: bilinear (align_corners=False), constant channels skipped,
            // masks (U - min) / (max - min), weights = class probability of the masked input,
            // map ReLU(sum w U) min-max normalized (a constant map becomes zeros).
            preset.upsample = .bilinear
            preset.skipConstant = true
            preset.normEps = 0
            preset.score = .softmax
            preset.subtractBase = false
            preset.weighting = .raw
            preset.normalizeMap = true
        default:
            return false
        }
        preset.batchSize = batchSize
        preset.threads = threads
        preset.batchMemory = batchMemory
        preset.metricScore = metricScore
        preset.metricSteps = metricSteps
        preset.metricBaseline = metricBaseline
        self = preset
        return true
    }

    /// Threads that build masked images: `threads`, or one per online core.
    var workerThreads: Int { threads > 0 ? threads : Swift.max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// Forward passes per channel.
    var samplesPerChannel: Int { method == .scoreCAM ? 1 : (samples > 0 ? samples : method.defaultSamples) }

    /// The unmasked input's score is needed only where it changes the result: softmax over
    /// channels is invariant to subtracting one number from every score.
    var needsBaseScore: Bool { subtractBase && weighting != .softmax }

    /// The size of one map: the input's, or with `mapAtActivationSize` the activations' (torchcam).
    /// The one statement of that rule: the run, the C ABI (its size query and its maps-buffer
    /// check) and the Swift API all ask here. Generic so a caller can pass sizes it has not
    /// checked yet and check only the one that counts.
    package func mapSize<Size>(input: Size, activations: Size) -> Size {
        mapAtActivationSize ? activations : input
    }
}
