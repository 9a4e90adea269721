@testable import ScoreCAMCore

/// A deterministic model for tests: outputs = W x + bias. Counts its forward passes.
final class LinearModel: ModelHost {
    let weight: [Float]  // outputDim x inputSize
    let bias: [Float]
    let outputDim: Int
    private(set) var imagesSeen = 0
    private(set) var calls = 0
    var failOnCall: Int?  // throw on this forward call (1-based)
    var cancelAfter: Int?  // cancel once this many images are done

    init(weight: [Float], bias: [Float]) {
        self.weight = weight
        self.bias = bias
        outputDim = bias.count
    }

    func forward(_ images: UnsafePointer<Float>, count: Int, c: Int, h: Int, w: Int,
                 outputs: UnsafeMutablePointer<Float>) throws(EngineError) {
        calls += 1
        if calls == failOnCall { throw EngineError(.callback, "test model failed") }
        let size = c * h * w
        for i in 0..<count {
            for o in 0..<outputDim {
                var sum = Double(bias[o])
                for j in 0..<size { sum += Double(weight[o * size + j]) * Double(images[i * size + j]) }
                outputs[i * outputDim + o] = Float(sum)
            }
        }
        imagesSeen += count
    }

    func progress(done: Int, total: Int) -> Bool {
        guard let cancelAfter else { return true }
        return done < cancelAfter
    }
}
