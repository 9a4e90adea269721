import ScoreCAMCore

/// Why a call failed: the same kinds and messages as the C ABI's statuses.
public struct ScoreCAMError: Error, CustomStringConvertible {
    /// The kind of failure (`SCORECAM_E_*` in C).
    public typealias Code = EngineError.Kind

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
        self.init(error.kind, error.message, underlying: error.kind == .callback ? underlying : nil)
    }

    public var description: String { message }
}
