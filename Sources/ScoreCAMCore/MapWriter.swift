/// Turns channel weights into the final map: L = sum_k w_k A_k at activation resolution, then the
/// preset's order of ReLU, upsampling and min-max normalization.
struct MapWriter {
    let parameters: Parameters
    let activations: TensorView
    let outputSize: (h: Int, w: Int)
    let resampler: Resampler?
    /// The resampler's scratch, allocated once and failably (activation height x input width).
    private let scratch: FloatBuffer

    init(parameters: Parameters, activations: TensorView, outputSize: (h: Int, w: Int),
         inputSize: (h: Int, w: Int)) throws(EngineError) {
        self.parameters = parameters
        self.activations = activations
        self.outputSize = outputSize
        resampler = parameters.mapAtActivationSize ? nil
            : Resampler(from: (activations.h, activations.w), to: inputSize,
                        mode: parameters.mapUpsample ?? parameters.upsample)
        scratch = try FloatBuffer(count: resampler?.scratchCount ?? 0)
    }

    /// sum_k w_k A_k for one image, at activation resolution.
    func weightedSum(image: Int, channels: [Int], weights: [Double]) -> [Float] {
        let size = activations.planeSize
        var sum = [Double](repeating: 0, count: size)
        for (j, channel) in channels.enumerated() {
            let plane = activations.plane(image, channel)
            let w = weights[j]
            for i in 0..<size { sum[i] += w * Double(plane[i]) }
        }
        return sum.map { Float($0) }
    }

    func write(image: Int, channels: [Int], weights: [Double], into map: UnsafeMutablePointer<Float>) {
        var low = weightedSum(image: image, channels: channels, weights: weights)
        let count = outputSize.h * outputSize.w
        low.withUnsafeMutableBufferPointer { low in
            let lowCount = low.count
            if parameters.reluBeforeUpsampling {
                for i in 0..<lowCount { low[i] = Swift.max(low[i], 0) }
                if parameters.normalizeLowMap { normalizeMinMax(low.baseAddress!, count: lowCount, eps: parameters.mapEps) }
            }
            if let resampler {
                resampler.resize(low.baseAddress!, into: map, scratch: scratch.pointer)
            } else {
                map.update(from: low.baseAddress!, count: lowCount)
            }
        }
        if !parameters.reluBeforeUpsampling {
            for i in 0..<count { map[i] = Swift.max(map[i], 0) }
        }
        if parameters.normalizeMap { normalizeMinMax(map, count: count, eps: parameters.mapEps) }
    }

    /// The activation-resolution map the adaptive budget watches: ReLU, min-max normalized.
    func convergenceMap(image: Int, channels: [Int], weights: [Double]) -> [Float] {
        var low = weightedSum(image: image, channels: channels, weights: weights).map { Swift.max($0, 0) }
        low.withUnsafeMutableBufferPointer { normalizeMinMax($0.baseAddress!, count: $0.count, eps: 0) }
        return low
    }
}
