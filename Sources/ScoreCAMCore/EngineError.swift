/// Why a run failed. The ABI layer maps each kind to a fixed status number.
public struct EngineError: Error, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case invalidArgument, shape, nonFinite, bufferTooSmall, callback, cancelled, degenerate,
             outOfMemory
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
