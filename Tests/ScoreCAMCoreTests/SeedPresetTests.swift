import Testing
@testable import ScoreCAMCore

/// The seed preset against maps computed with PyTorch the way tiskw/scorecam-pytorch does.
@Suite struct SeedPresetTests {
    let fixture: Fixtures.SeedCase

    init() throws { fixture = try Fixtures.load("seed.json", as: Fixtures.SeedCase.self) }

    func explain(targets: [Int], configure: (inout Parameters) -> Void = { _ in },
                 model: LinearModel? = nil) throws(EngineError) -> (maps: [Float], details: [ImageDetails]) {
        var parameters = Parameters()
        configure(&parameters)
        let model = model ?? LinearModel(weight: fixture.weight, bias: fixture.bias)
        let f = fixture
        var maps = [Float](repeating: -1, count: targets.count * f.h * f.w)
        let details = try f.input.withUnsafeBufferPointer { input throws(EngineError) in
            try f.activations.withUnsafeBufferPointer { acts throws(EngineError) in
                try maps.withUnsafeMutableBufferPointer { out throws(EngineError) in
                    try ExplanationRun(parameters: parameters, input: TensorView(input.baseAddress!, 1, f.c, f.h, f.w),
                                  activations: TensorView(acts.baseAddress!, 1, f.k, f.ah, f.aw),
                                  targets: targets, numTargets: targets.count)
                        .run(host: model, maps: out.baseAddress!, mapsCapacity: out.count)
                }
            }
        }
        return (maps, details)
    }

    func slice(_ maps: [Float], _ t: Int) -> [Float] {
        Array(maps[(t * fixture.h * fixture.w)..<((t + 1) * fixture.h * fixture.w)])
    }

    @Test func vanillaMatchesTheSeed() throws {
        let model = LinearModel(weight: fixture.weight, bias: fixture.bias)
        let (maps, details) = try explain(targets: fixture.targets, model: model)
        for (t, expected) in fixture.maps.enumerated() {
            #expect(relativeError(slice(maps, t), expected) < 1e-4)
        }
        // Both targets came from one set of K masked forwards (softmax needs no base pass).
        #expect(model.imagesSeen == fixture.k)
        #expect(details[0].channels == Array(0..<fixture.k))
        #expect(details[0].baseScores.allSatisfy { $0.isNaN })
        let weightSum = (0..<fixture.k).map { Double(details[0].weights[$0 * 2]) }.reduce(0, +)
        #expect(abs(weightSum - 1) < 1e-5)
    }

    @Test func cskipMatchesTheSeed() throws {
        let model = LinearModel(weight: fixture.weight, bias: fixture.bias)
        let (maps, details) = try explain(targets: fixture.targets, configure: {
            $0.selection = .max
            $0.selectionCount = fixture.cskip
        }, model: model)
        for (t, expected) in fixture.cskip_maps.enumerated() {
            #expect(relativeError(slice(maps, t), expected) < 1e-4)
        }
        #expect(model.imagesSeen == fixture.cskip)
        #expect(details[0].channels.count == fixture.cskip)
    }

    @Test func multiTargetEqualsPerTargetRuns() throws {
        let together = try explain(targets: [3, 1, 4]).maps
        for (t, target) in [3, 1, 4].enumerated() {
            #expect(slice(together, t) == (try explain(targets: [target]).maps))
        }
    }

    @Test func batchSizeAndThreadsDoNotChangeTheResult() throws {
        let reference = try explain(targets: fixture.targets).maps
        for (batch, threads) in [(1, 1), (3, 2), (4, 5), (1000, 0)] {
            let maps = try explain(targets: fixture.targets) { $0.batchSize = batch; $0.threads = threads }.maps
            #expect(maps == reference, "batch \(batch), threads \(threads)")
        }
    }

    @Test func rawWeightsSubtractTheBaseScore() throws {
        let model = LinearModel(weight: fixture.weight, bias: fixture.bias)
        let (_, details) = try explain(targets: [2], configure: { $0.weighting = .raw }, model: model)
        #expect(model.imagesSeen == fixture.k + 1)  // one extra pass for the unmasked image
        let d = details[0]
        #expect(d.baseScores[0].isFinite)
        for j in 0..<fixture.k { #expect(abs(d.weights[j] - (d.scores[j] - d.baseScores[0])) < 1e-5) }
    }

    @Test func failuresLeaveTheMapsUntouchedAndStopTheRun() throws {
        let failing = LinearModel(weight: fixture.weight, bias: fixture.bias)
        failing.failOnCall = 2
        #expect(throws: EngineError(.callback, "test model failed")) {
            try explain(targets: [1], configure: { $0.batchSize = 3 }, model: failing)
        }
        #expect(failing.calls == 2)

        let cancelling = LinearModel(weight: fixture.weight, bias: fixture.bias)
        cancelling.cancelAfter = 3
        do {
            _ = try explain(targets: [1], configure: { $0.batchSize = 3 }, model: cancelling)
            Issue.record("expected cancellation")
        } catch {
            #expect(error.kind == .cancelled)
            #expect(cancelling.imagesSeen == 3)
        }
        #expect(throws: EngineError.self) { try explain(targets: [fixture.d]) }
    }
}
