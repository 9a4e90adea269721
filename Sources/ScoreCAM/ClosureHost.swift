import ScoreCAMCore

/// The size of one batch of masked images handed to the forward closure.
public struct BatchShape: Equatable, Sendable {
    public let count: Int, channels: Int, height: Int, width: Int
}

/// Remembers what a closure threw, so that the caller gets that very error back.
final class ThrownError {
    var error: (any Error)?
}

/// Adapts the Explainer's closures to the engine's host protocol. The pointers the engine hands
/// over are lent to the closures as spans, valid for the duration of the call only.
struct ClosureHost: ModelHost {
    let outputDim: Int
    let forwardClosure: Explainer.Forward
    let scoringClosure: Explainer.Scoring?
    let progressClosure: Explainer.Progress?
    let thrown: ThrownError

    func forward(_ images: UnsafePointer<Float>, count: Int, c: Int, h: Int, w: Int,
                 outputs: UnsafeMutablePointer<Float>) throws(EngineError) {
        let batch = UnsafeBufferPointer(start: images, count: count * c * h * w)
        let values = try call("forward") { try forwardClosure(batch.span, BatchShape(count: count, channels: c, height: h, width: w)) }
        guard values.count == count * outputDim else {
            throw EngineError(.callback, "the forward closure returned \(values.count) values for \(count) images x \(outputDim) outputs")
        }
        outputs.update(from: values, count: values.count)
    }

    var scoresTargets: Bool { scoringClosure != nil }

    func score(_ outputs: UnsafePointer<Float>, count: Int, targets: ArraySlice<Int>, numTargets: Int,
               scores: UnsafeMutablePointer<Float>) throws(EngineError) {
        guard let scoringClosure else { return }
        let rows = UnsafeBufferPointer(start: outputs, count: count * outputDim)
        let values = try call("scoring") { try scoringClosure(rows.span, count, Array(targets)) }
        guard values.count == count * numTargets else {
            throw EngineError(.callback, "the scoring closure returned \(values.count) values for \(count) images x \(numTargets) targets")
        }
        scores.update(from: values, count: values.count)
    }

    func progress(done: Int, total: Int) -> Bool {
        progressClosure?(done, total) ?? true
    }

    private func call(_ name: String, _ body: () throws -> [Float]) throws(EngineError) -> [Float] {
        do {
            return try body()
        } catch {
            thrown.error = error
            throw EngineError(.callback, "the \(name) closure threw: \(error)")
        }
    }
}
