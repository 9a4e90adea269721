import ScoreCAMCore

/// Why a call failed: the same kinds and messages as the C ABI's statuses.
public struct ScoreCAMError: Error, CustomStringConvertible {
    /// The kind of failure (`SCORECAM_E_*` in C).
    public enum Code: Sendable, Equatable {
        case invalidArgument, shape, nonFinite, bufferTooSmall, callback, cancelled, degenerate,
             outOfMemory

        /// The engine's kind under this module's name: a total map, so a new engine kind does not
        /// compile until it has a code here.
        init(_ kind: EngineError.Kind) {
            switch kind {
            case .invalidArgument: self = .invalidArgument
            case .shape: self = .shape
            case .nonFinite: self = .nonFinite
            case .bufferTooSmall: self = .bufferTooSmall
            case .callback: self = .callback
            case .cancelled: self = .cancelled
            case .degenerate: self = .degenerate
            case .outOfMemory: self = .outOfMemory
            }
        }
    }

    public let code: Code
    public let message: String
    /// What a forward, scoring or progress closure threw, when that ended the run.
    public let underlying: (any Error)?

    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    init(_ error: EngineError, underlying: (any Error)?) {
        self.init(Code(error.kind), error.message, underlying: error.kind == .callback ? underlying : nil)
    }

    public var description: String { message }
}
