import Foundation
import Testing
@testable import ScoreCAMCore

@Suite struct SelectionAndWeightingTests {
    /// Activations for one image whose channel c is the constant plane `values[c]`, with one
    /// raised pixel of `peaks[c]` (so max and std differ from channel to channel).
    func activations(_ values: [Float], peaks: [Float], h: Int = 3, w: Int = 3) -> [Float] {
        values.indices.flatMap { c -> [Float] in
            var plane = [Float](repeating: values[c], count: h * w)
            plane[4] += peaks[c]
            return plane
        }
    }

    func select(_ data: [Float], k: Int, _ configure: (inout Parameters) -> Void) throws(EngineError) -> [Int] {
        var parameters = Parameters()
        configure(&parameters)
        return try data.withUnsafeBufferPointer { buffer throws(EngineError) in
            try selectChannels(TensorView(buffer.baseAddress!, 1, k, 3, 3), image: 0, parameters: parameters)
        }
    }

    @Test func cskipKeepsTopChannelsByMaxDescending() throws {
        let data = activations([0, 0, 0, 0, 0], peaks: [1, 5, 3, 5, 2])
        let kept = try select(data, k: 5) { $0.selection = .max; $0.selectionCount = 3 }
        #expect(kept == [1, 3, 2])  // ties (1 and 3) keep channel order
    }

    @Test func stdSelectionRanksBySpread() throws {
        // Equal maxima, different spreads: max cannot tell them apart, std can.
        let data = activations([4, 0, 2], peaks: [1, 5, 3])
        let kept = try select(data, k: 3) { $0.selection = .std; $0.selectionCount = 2 }
        #expect(kept == [1, 2])
    }

    @Test func allKeepsOrderAndCanSkipConstantChannels() throws {
        let data = activations([1, 2, 3], peaks: [1, 0, 1])
        #expect(try select(data, k: 3) { _ in } == [0, 1, 2])
        #expect(try select(data, k: 3) { $0.skipConstant = true } == [0, 2])
    }

    @Test func rejectsMoreChannelsThanExistAndAllConstant() {
        let data = activations([0, 0], peaks: [1, 2])
        #expect(throws: EngineError.self) { try select(data, k: 2) { $0.selection = .max; $0.selectionCount = 3 } }
        let constant = activations([1, 2], peaks: [0, 0])
        do {
            _ = try select(constant, k: 2) { _ in }
            Issue.record("expected an error")
        } catch {
            #expect(error.kind == .degenerate)
        }
    }

    @Test func softmaxIsStableForHugeScores() {
        let weights = channelWeights([1e4, -1e4, 0, 1e4 - 1], weighting: .softmax)
        #expect(weights.allSatisfy { $0.isFinite })
        #expect(abs(weights.reduce(0, +) - 1) < 1e-12)
        let e = exp(-1.0)
        #expect(abs(weights[0] - 1 / (1 + e)) < 1e-12)
        #expect(abs(weights[3] - e / (1 + e)) < 1e-12)
        #expect(weights[1] == 0 && weights[2] == 0)
        let uniform = channelWeights([-1e4, -1e4, -1e4, -1e4], weighting: .softmax)
        #expect(uniform == [0.25, 0.25, 0.25, 0.25])
        #expect(channelWeights([3, -2], weighting: .raw) == [3, -2])
    }

    @Test func presetsByName() {
        var parameters = Parameters()
        parameters.batchSize = 7
        parameters.upsample = .bilinear
        let applied = parameters.applyPreset("seed")
        #expect(applied)
        #expect(parameters.upsample == .bicubic && parameters.batchSize == 7)
        let unknown = parameters.applyPreset("nope")
        #expect(!unknown)
    }
}

@Suite struct NoiseTests {
    @Test func gaussianNoiseIsReproducibleAndHasTheRightMoments() {
        func samples(_ stream: [Int], count: Int = 200_000) -> [Float] {
            var noise = GaussianNoise(seed: 42, stream: stream, std: 2)
            return (0..<count).map { _ in noise.next() }
        }
        let a = samples([0, 3, 1])
        #expect(a == samples([0, 3, 1]))
        #expect(a != samples([0, 3, 2]))
        let mean = a.reduce(0.0) { $0 + Double($1) } / Double(a.count)
        let variance = a.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(a.count)
        #expect(abs(mean) < 0.02)
        #expect(abs(variance.squareRoot() - 2) < 0.02)
        let beyondThreeSigma = Double(a.filter { abs($0) > 6 }.count) / Double(a.count)
        #expect(abs(beyondThreeSigma - 0.0027) < 0.001)
    }
}
