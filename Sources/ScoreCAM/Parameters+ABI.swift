import CScoreCAM
import ScoreCAMCore

/// scorecam_param numbers <-> Parameters fields, with the range checks of the header.
extension Parameters {
    /// Names for messages, as in the header without the SCORECAM_PARAM_ prefix.
    static func name(of param: Int32) -> String {
        let names = [1: "BATCH_SIZE", 2: "UPSAMPLE", 3: "SELECTION", 4: "SELECTION_COUNT", 5: "SKIP_CONSTANT",
                     6: "NORM_EPS", 7: "WEIGHTING", 8: "SUBTRACT_BASE", 9: "SCORE", 10: "BASELINE",
                     11: "NORMALIZE_MAP", 12: "THREADS", 13: "NORMALIZE_MASK_FIRST",
                     14: "RELU_BEFORE_UPSAMPLING", 15: "MAP_UPSAMPLE", 16: "MAP_AT_ACTIVATION_SIZE",
                     17: "NORMALIZE_LOW_MAP", 18: "MAP_EPS", 19: "METHOD", 20: "SAMPLES", 21: "NOISE_STD",
                     22: "SEED", 23: "ADAPTIVE_TOLERANCE", 24: "ADAPTIVE_STEP", 25: "METRIC_SCORE",
                     26: "METRIC_STEPS", 27: "METRIC_BASELINE"]
        return names[Int(param)].map { "SCORECAM_PARAM_\($0)" } ?? "parameter \(param)"
    }

    mutating func set(_ param: Int32, _ value: Double) throws(ABIError) {
        let name = Self.name(of: param)
        guard value.isFinite else { throw ABIError(SCORECAM_E_INVALID_ARGUMENT, "\(name): \(value) is not finite") }
        func integer(_ range: ClosedRange<Int>) throws(ABIError) -> Int {
            guard value.rounded() == value else {
                throw ABIError(SCORECAM_E_INVALID_ARGUMENT, "\(name): \(value) is not a whole number")
            }
            guard value >= Double(range.lowerBound), value <= Double(range.upperBound) else {
                throw ABIError(SCORECAM_E_INVALID_ARGUMENT, "\(name): \(Int(value)) is outside \(range.lowerBound)...\(range.upperBound)")
            }
            return Int(value)
        }
        func nonNegative() throws(ABIError) -> Double {
            guard value >= 0 else { throw ABIError(SCORECAM_E_INVALID_ARGUMENT, "\(name): must be >= 0, got \(value)") }
            return value
        }
        func choice<E: RawRepresentable & CaseIterable>(_: E.Type) throws(ABIError) -> E where E.RawValue == Int {
            let raw = try integer(0...(E.allCases.count - 1))
            return E(rawValue: raw)!
        }
        switch UInt32(bitPattern: param) {
        case SCORECAM_PARAM_BATCH_SIZE.rawValue: batchSize = try integer(1...1 << 30)
        case SCORECAM_PARAM_UPSAMPLE.rawValue: upsample = try choice(UpsampleMode.self)
        case SCORECAM_PARAM_SELECTION.rawValue: selection = try choice(ChannelSelection.self)
        case SCORECAM_PARAM_SELECTION_COUNT.rawValue: selectionCount = try integer(1...1 << 30)
        case SCORECAM_PARAM_SKIP_CONSTANT.rawValue: skipConstant = try integer(0...1) == 1
        case SCORECAM_PARAM_NORM_EPS.rawValue: normEps = try nonNegative()
        case SCORECAM_PARAM_WEIGHTING.rawValue: weighting = try choice(Weighting.self)
        case SCORECAM_PARAM_SUBTRACT_BASE.rawValue: subtractBase = try integer(0...1) == 1
        case SCORECAM_PARAM_SCORE.rawValue: score = try choice(ScoreKind.self)
        case SCORECAM_PARAM_BASELINE.rawValue: baseline = Float(value)
        case SCORECAM_PARAM_NORMALIZE_MAP.rawValue: normalizeMap = try integer(0...1) == 1
        case SCORECAM_PARAM_THREADS.rawValue: threads = try integer(0...1024)
        case SCORECAM_PARAM_NORMALIZE_MASK_FIRST.rawValue: normalizeMaskFirst = try integer(0...1) == 1
        case SCORECAM_PARAM_RELU_BEFORE_UPSAMPLING.rawValue: reluBeforeUpsampling = try integer(0...1) == 1
        case SCORECAM_PARAM_MAP_UPSAMPLE.rawValue:
            let raw = try integer(-1...(UpsampleMode.allCases.count - 1))
            mapUpsample = raw < 0 ? nil : UpsampleMode(rawValue: raw)
        case SCORECAM_PARAM_MAP_AT_ACTIVATION_SIZE.rawValue: mapAtActivationSize = try integer(0...1) == 1
        case SCORECAM_PARAM_NORMALIZE_LOW_MAP.rawValue: normalizeLowMap = try integer(0...1) == 1
        case SCORECAM_PARAM_MAP_EPS.rawValue: mapEps = try nonNegative()
        case SCORECAM_PARAM_METHOD.rawValue: method = try choice(Method.self)
        case SCORECAM_PARAM_SAMPLES.rawValue: samples = try integer(0...1 << 20)
        case SCORECAM_PARAM_NOISE_STD.rawValue: noiseStd = try nonNegative()
        case SCORECAM_PARAM_SEED.rawValue: seed = UInt64(try integer(0...(1 << 53)))
        case SCORECAM_PARAM_ADAPTIVE_TOLERANCE.rawValue: adaptiveTolerance = try nonNegative()
        case SCORECAM_PARAM_ADAPTIVE_STEP.rawValue: adaptiveStep = try integer(1...1 << 30)
        case SCORECAM_PARAM_METRIC_SCORE.rawValue: metricScore = try choice(ScoreKind.self)
        case SCORECAM_PARAM_METRIC_STEPS.rawValue: metricSteps = try integer(1...1 << 30)
        case SCORECAM_PARAM_METRIC_BASELINE.rawValue: metricBaseline = Float(value)
        default: throw ABIError(SCORECAM_E_INVALID_ARGUMENT, "unknown parameter \(param)")
        }
    }

    func get(_ param: Int32) throws(ABIError) -> Double {
        switch UInt32(bitPattern: param) {
        case SCORECAM_PARAM_BATCH_SIZE.rawValue: return Double(batchSize)
        case SCORECAM_PARAM_UPSAMPLE.rawValue: return Double(upsample.rawValue)
        case SCORECAM_PARAM_SELECTION.rawValue: return Double(selection.rawValue)
        case SCORECAM_PARAM_SELECTION_COUNT.rawValue: return Double(selectionCount)
        case SCORECAM_PARAM_SKIP_CONSTANT.rawValue: return skipConstant ? 1 : 0
        case SCORECAM_PARAM_NORM_EPS.rawValue: return normEps
        case SCORECAM_PARAM_WEIGHTING.rawValue: return Double(weighting.rawValue)
        case SCORECAM_PARAM_SUBTRACT_BASE.rawValue: return subtractBase ? 1 : 0
        case SCORECAM_PARAM_SCORE.rawValue: return Double(score.rawValue)
        case SCORECAM_PARAM_BASELINE.rawValue: return Double(baseline)
        case SCORECAM_PARAM_NORMALIZE_MAP.rawValue: return normalizeMap ? 1 : 0
        case SCORECAM_PARAM_THREADS.rawValue: return Double(threads)
        case SCORECAM_PARAM_NORMALIZE_MASK_FIRST.rawValue: return normalizeMaskFirst ? 1 : 0
        case SCORECAM_PARAM_RELU_BEFORE_UPSAMPLING.rawValue: return reluBeforeUpsampling ? 1 : 0
        case SCORECAM_PARAM_MAP_UPSAMPLE.rawValue: return Double(mapUpsample?.rawValue ?? -1)
        case SCORECAM_PARAM_MAP_AT_ACTIVATION_SIZE.rawValue: return mapAtActivationSize ? 1 : 0
        case SCORECAM_PARAM_NORMALIZE_LOW_MAP.rawValue: return normalizeLowMap ? 1 : 0
        case SCORECAM_PARAM_MAP_EPS.rawValue: return mapEps
        case SCORECAM_PARAM_METHOD.rawValue: return Double(method.rawValue)
        case SCORECAM_PARAM_SAMPLES.rawValue: return Double(samples)
        case SCORECAM_PARAM_NOISE_STD.rawValue: return noiseStd
        case SCORECAM_PARAM_SEED.rawValue: return Double(seed)
        case SCORECAM_PARAM_ADAPTIVE_TOLERANCE.rawValue: return adaptiveTolerance
        case SCORECAM_PARAM_ADAPTIVE_STEP.rawValue: return Double(adaptiveStep)
        case SCORECAM_PARAM_METRIC_SCORE.rawValue: return Double(metricScore.rawValue)
        case SCORECAM_PARAM_METRIC_STEPS.rawValue: return Double(metricSteps)
        case SCORECAM_PARAM_METRIC_BASELINE.rawValue: return Double(metricBaseline)
        default: throw ABIError(SCORECAM_E_INVALID_ARGUMENT, "unknown parameter \(param)")
        }
    }
}
