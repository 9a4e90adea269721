/// Why a run failed. The ABI layer maps each kind to a fixed status number.
package struct EngineError: Error, Equatable, CustomStringConvertible {
    package enum Kind: Sendable, Equatable {
        case invalidArgument, shape, nonFinite, bufferTooSmall, callback, cancelled, degenerate,
             outOfMemory
    }

    package let kind: Kind
    package let message: String

    package init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    package var description: String { message }
}
