/// Per-channel statistics of one image's low-resolution activations, and the channel plan built
/// from them.
struct ChannelStatistics {
    var minimum: [Float]
    var maximum: [Float]
    var std: [Double]

    init(_ activations: TensorView, image: Int, needStd: Bool) {
        let k = activations.c, size = activations.planeSize
        minimum = [Float](repeating: 0, count: k)
        maximum = [Float](repeating: 0, count: k)
        std = needStd ? [Double](repeating: 0, count: k) : []
        for channel in 0..<k {
            let plane = activations.plane(image, channel)
            var lo = plane[0], hi = plane[0]
            for i in 1..<size {
                lo = Swift.min(lo, plane[i])
                hi = Swift.max(hi, plane[i])
            }
            minimum[channel] = lo
            maximum[channel] = hi
            if needStd {
                // Population standard deviation, as numpy's np.std (tf-keras-vis max_N).
                var sum = 0.0
                for i in 0..<size { sum += Double(plane[i]) }
                let mean = sum / Double(size)
                var squares = 0.0
                for i in 0..<size { squares += (Double(plane[i]) - mean) * (Double(plane[i]) - mean) }
                std[channel] = (squares / Double(size)).squareRoot()
            }
        }
    }

    func isConstant(_ channel: Int) -> Bool { minimum[channel] == maximum[channel] }
}

/// The channels of one image that get a masked forward pass, in processing order. `ordered` sorts
/// even an ALL selection by channel max (the adaptive budget takes the most promising first).
func selectChannels(_ activations: TensorView, image: Int, parameters: Parameters,
                    ordered: Bool = false) throws(EngineError) -> [Int] {
    let k = activations.c
    let statistics = ChannelStatistics(activations, image: image, needStd: parameters.selection == .std)
    var candidates = Array(0..<k)
    if parameters.skipConstant {
        candidates.removeAll(where: statistics.isConstant)
    }
    if parameters.selection != .all {
        guard parameters.selectionCount <= k else {
            throw EngineError(.invalidArgument,
                              "selection count K'=\(parameters.selectionCount) exceeds the \(k) channels of the activations")
        }
    }
    if parameters.selection != .all || ordered {
        // Descending by the criterion; ties keep channel order so the plan is deterministic.
        let key: (Int) -> Double = parameters.selection == .std
            ? { statistics.std[$0] } : { Double(statistics.maximum[$0]) }
        candidates.sort { key($0) != key($1) ? key($0) > key($1) : $0 < $1 }
        if parameters.selection != .all { candidates = Array(candidates.prefix(parameters.selectionCount)) }
    }
    guard candidates.contains(where: { !statistics.isConstant($0) }) else {
        throw EngineError(.degenerate,
                          "image \(image): every selected channel of the activations is constant (max == min), so no mask carries information")
    }
    return candidates
}
