import _CScoreCAM
import ScoreCAMCore

#if canImport(Glibc)
import Glibc
#endif

/// scorecam_param numbers <-> Parameters fields: the core's parameter table does the work
/// (numbers, names, ranges, defaults live there once); this file only adapts errors and strings.
extension Parameters {
    mutating func set(_ param: Int32, _ value: Double) throws(ABIError) {
        do { try set(Int(param), value) } catch { throw ABIError(error) }
    }

    func get(_ param: Int32) throws(ABIError) -> Double {
        do { return try value(Int(param)) } catch { throw ABIError(error) }
    }

    /// "SCORECAM_PARAM_<name>" of each table row, in table order, as C strings that live as long
    /// as the library (static storage for scorecam_param_info).
    nonisolated(unsafe) static let cNames: [UnsafePointer<CChar>] = table.map { UnsafePointer(strdup("SCORECAM_PARAM_\($0.name)")!) }
}
