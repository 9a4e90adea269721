import ScoreCAMCore

// The engine's own value types, under the names this module's users see. They carry no pointers.

/// Every knob of a run; `Explainer.parameters`.
public typealias Parameters = ScoreCAMCore.Parameters
public typealias UpsampleMode = ScoreCAMCore.UpsampleMode
public typealias ChannelSelection = ScoreCAMCore.ChannelSelection
public typealias Weighting = ScoreCAMCore.Weighting
public typealias ScoreKind = ScoreCAMCore.ScoreKind
public typealias Method = ScoreCAMCore.Method
public typealias Metric = ScoreCAMCore.Metric
/// The channels, scores and weights one image's explanation was made of.
public typealias ImageDetails = ScoreCAMCore.ImageDetails

/// The libraries whose maps a preset reproduces (docs/PYTHON.md, "Presets").
public enum Preset: String, CaseIterable, Sendable {
    /// tiskw/scorecam-pytorch (the default).
    case seed
    /// pytorch-grad-cam 1.5.7 `ScoreCAM`.
    case gradcam
    /// torchcam 0.5.0 `ScoreCAM` (maps at activation size).
    case torchcam
    /// haofanwang/Score-CAM, the authors' code.
    case paper
}

extension Parameters {
    /// The parameters of a preset, with the execution and metric knobs of `self` kept.
    public func applying(_ preset: Preset) -> Parameters {
        var copy = self
        let known = copy.applyPreset(preset.rawValue)
        precondition(known, "Preset and Parameters.presetNames disagree on \(preset.rawValue)")
        return copy
    }
}
