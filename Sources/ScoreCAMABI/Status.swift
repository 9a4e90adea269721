import _CScoreCAM
import ScoreCAMCore

/// A failure at the ABI boundary: the status returned to C and the message stored for it.
struct ABIError: Error {
    let status: scorecam_status
    let message: String

    init(_ status: scorecam_status, _ message: String) {
        self.status = status
        self.message = message
    }

    init(_ error: EngineError) {
        let status: scorecam_status
        switch error.kind {
        case .invalidArgument: status = SCORECAM_E_INVALID_ARGUMENT
        case .shape: status = SCORECAM_E_SHAPE
        case .nonFinite: status = SCORECAM_E_NON_FINITE
        case .bufferTooSmall: status = SCORECAM_E_BUFFER_TOO_SMALL
        case .callback: status = SCORECAM_E_CALLBACK
        case .cancelled: status = SCORECAM_E_CANCELLED
        case .degenerate: status = SCORECAM_E_DEGENERATE
        case .outOfMemory: status = SCORECAM_E_OUT_OF_MEMORY
        }
        self.init(status, error.message)
    }
}

/// Static, NUL-terminated names of the statuses (string literals live for the whole program).
func statusName(_ status: Int32) -> StaticString {
    switch status {
    case SCORECAM_OK.rawValue: "SCORECAM_OK: success"
    case SCORECAM_E_NULL_POINTER.rawValue: "SCORECAM_E_NULL_POINTER: a required pointer is NULL"
    case SCORECAM_E_INVALID_ARGUMENT.rawValue: "SCORECAM_E_INVALID_ARGUMENT: a value is out of range"
    case SCORECAM_E_SHAPE.rawValue: "SCORECAM_E_SHAPE: bad or inconsistent dimensions"
    case SCORECAM_E_NON_FINITE.rawValue: "SCORECAM_E_NON_FINITE: NaN or Inf in the data"
    case SCORECAM_E_BUFFER_TOO_SMALL.rawValue: "SCORECAM_E_BUFFER_TOO_SMALL: an output buffer is too small"
    case SCORECAM_E_NO_FORWARD.rawValue: "SCORECAM_E_NO_FORWARD: no forward callback registered"
    case SCORECAM_E_CALLBACK.rawValue: "SCORECAM_E_CALLBACK: a callback reported an error"
    case SCORECAM_E_CANCELLED.rawValue: "SCORECAM_E_CANCELLED: cancelled by the progress callback"
    case SCORECAM_E_DEGENERATE.rawValue: "SCORECAM_E_DEGENERATE: every selected channel is constant"
    case SCORECAM_E_OUT_OF_MEMORY.rawValue: "SCORECAM_E_OUT_OF_MEMORY: an allocation failed"
    case SCORECAM_E_NO_RESULT.rawValue: "SCORECAM_E_NO_RESULT: no successful compute to report on"
    default: "SCORECAM_E_UNKNOWN: not a scorecam status"
    }
}

extension StaticString {
    var cString: UnsafePointer<CChar> {
        UnsafeRawPointer(utf8Start).assumingMemoryBound(to: CChar.self)
    }
}
