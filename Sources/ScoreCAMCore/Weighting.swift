#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Channel weights for one target from the channel scores (already minus the base score where
/// that applies). Softmax runs in Double after subtracting the maximum, so scores of +-1e4 neither
/// overflow nor underflow into NaN.
func channelWeights(_ scores: [Double], weighting: Weighting) -> [Double] {
    switch weighting {
    case .raw:
        return scores
    case .softmax:
        guard let top = scores.max() else { return [] }
        let exponentials = scores.map { exp($0 - top) }
        let total = exponentials.reduce(0, +)
        return exponentials.map { $0 / total }
    }
}

/// Softmax over one output row, at `index` (the class probability).
func softmaxProbability(_ row: UnsafePointer<Float>, count: Int, index: Int) -> Float {
    var top = -Float.infinity
    for i in 0..<count { top = Swift.max(top, row[i]) }
    var total = 0.0
    for i in 0..<count { total += exp(Double(row[i] - top)) }
    return Float(exp(Double(row[index] - top)) / total)
}
