import CScoreCAM
import ScoreCAMCore

/// scorecam_param numbers <-> Parameters fields, with the range checks of the header.
extension Parameters {
    /// Names for messages, as in the header without the SCORECAM_PARAM_ prefix.
    static func name(of param: Int32) -> String {
        let names = [1: "BATCH_SIZE", 2: "UPSAMPLE", 3: "SELECTION", 4: "SELECTION_COUNT", 5: "SKIP_CONSTANT",
                     6: "NORM_EPS", 7: "WEIGHTING", 8: "SUBTRACT_BASE", 9: "SCORE", 10: "BASELINE",
                     11: "NORMALIZE_MAP", 12: "THREADS"]
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
        case SCORECAM_PARAM_NORM_EPS.rawValue:
            guard value >= 0 else { throw ABIError(SCORECAM_E_INVALID_ARGUMENT, "\(name): eps must be >= 0, got \(value)") }
            normEps = value
        case SCORECAM_PARAM_WEIGHTING.rawValue: weighting = try choice(Weighting.self)
        case SCORECAM_PARAM_SUBTRACT_BASE.rawValue: subtractBase = try integer(0...1) == 1
        case SCORECAM_PARAM_SCORE.rawValue: score = try choice(ScoreKind.self)
        case SCORECAM_PARAM_BASELINE.rawValue: baseline = Float(value)
        case SCORECAM_PARAM_NORMALIZE_MAP.rawValue: normalizeMap = try integer(0...1) == 1
        case SCORECAM_PARAM_THREADS.rawValue: threads = try integer(0...1024)
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
        default: throw ABIError(SCORECAM_E_INVALID_ARGUMENT, "unknown parameter \(param)")
        }
    }
}
