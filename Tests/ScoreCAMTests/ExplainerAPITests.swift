// The public Swift API, used as a client uses it: `import ScoreCAM`, no @testable.
import ScoreCAM
import Testing
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A deterministic linear model: C x H x W images -> D outputs, o_d = sum_p weight(d, p) x_p.
struct LinearModel {
    let c = 3, h = 8, w = 8, d = 3

    func weight(_ output: Int, _ p: Int) -> Float { Float((output * 131 + p * 17) % 23) / 23 - 0.4 }

    func run(_ images: Span<Float>, count: Int) -> [Float] {
        let size = c * h * w
        return (0..<count).flatMap { i in
            (0..<d).map { o in (0..<size).reduce(Float(0)) { $0 + weight(o, $1) * images[i * size + $1] } }
        }
    }

    var forward: Explainer.Forward { { images, shape in self.run(images, count: shape.count) } }

    func values(_ seed: Int, _ count: Int) -> [Float] { (0..<count).map { Float((seed * 7919 + $0 * 104729) % 1000) / 1000 } }
    var input: Tensor { try! Tensor(shape: [c, h, w], scalars: values(1, c * h * w)) }
    /// K = 5 channels at input resolution, so upsampling is the identity.
    var activations: Tensor { try! Tensor(shape: [5, h, w], scalars: values(2, 5 * h * w)) }
}

/// The seed's formula written out: masks (A - min) / (max - min + 1e-10), scores minus the
/// unmasked score, softmax over channels, ReLU(sum w A).
func seedReference(_ model: LinearModel, target: Int) -> [Float] {
    let x = model.input.scalars, a = model.activations.scalars
    let plane = model.h * model.w
    func score(_ image: [Float]) -> Double { Double(image.withUnsafeBufferPointer { model.run($0.span, count: 1) }[target]) }
    let base = score(x)
    let scores = (0..<5).map { k -> Double in
        let channel = a[(k * plane)..<((k + 1) * plane)]
        let (lo, hi) = (channel.min()!, channel.max()!)
        let mask = channel.map { Double(($0 - lo)) / (Double(hi - lo) + 1e-10) }
        return score((0..<x.count).map { Float(Double(x[$0]) * mask[$0 % plane]) }) - base
    }
    let top = scores.max()!
    let exps = scores.map { exp($0 - top) }
    let weights = exps.map { $0 / exps.reduce(0, +) }
    return (0..<plane).map { p in Float(max(0, (0..<5).reduce(0.0) { $0 + weights[$1] * Double(a[$1 * plane + p]) })) }
}

@Suite struct ExplainerAPITests {
    let model = LinearModel()

    @Test func seedMapsFollowTheFormula() throws {
        let explainer = try Explainer(outputDim: model.d, forward: model.forward)
        let maps = try explainer.explain(model.input, activations: model.activations, targets: [0, 2])
        #expect(maps.shape == [1, 2, model.h, model.w])
        for (t, target) in [0, 2].enumerated() {
            let expected = seedReference(model, target: target)
            let top = expected.max()!
            #expect(top > 0)
            for p in 0..<expected.count {
                #expect(abs(maps.scalars[t * expected.count + p] - expected[p]) <= 1e-4 * top)
            }
        }
        #expect(explainer.details.count == 1)
        #expect(explainer.details[0].channels == [0, 1, 2, 3, 4])
    }

    @Test func eachImageItsOwnTargetsInOneRun() throws {
        let explainer = try Explainer(outputDim: model.d, forward: model.forward)
        explainer.parameters.batchSize = 3
        let size = model.c * model.h * model.w, plane = 5 * model.h * model.w
        let inputs = (0..<2).flatMap { model.values(3 + $0, size) }, acts = (0..<2).flatMap { model.values(5 + $0, plane) }
        let input = try Tensor(shape: [2, model.c, model.h, model.w], scalars: inputs)
        let activations = try Tensor(shape: [2, 5, model.h, model.w], scalars: acts)
        let rows = [[2, 0], [1, 1]]
        let maps = try explainer.explain(input, activations: activations, targetsPerImage: rows)
        #expect(maps.shape == [2, 2, model.h, model.w])
        let values = try explainer.evaluate(.insertion, input: input, maps: maps, targetsPerImage: rows)
        for i in 0..<2 {
            let one = try Tensor(shape: [model.c, model.h, model.w], scalars: Array(inputs[(i * size)..<((i + 1) * size)]))
            let oneActs = try Tensor(shape: [5, model.h, model.w], scalars: Array(acts[(i * plane)..<((i + 1) * plane)]))
            let alone = try explainer.explain(one, activations: oneActs, targets: rows[i])
            let count = 2 * model.h * model.w
            #expect(alone.scalars == Array(maps.scalars[(i * count)..<((i + 1) * count)]))
            let aloneMaps = try Tensor(shape: [1, 2, model.h, model.w], scalars: alone.scalars)
            #expect(try explainer.evaluate(.insertion, input: one, maps: aloneMaps, targets: rows[i]) == Array(values[(2 * i)..<(2 * i + 2)]))
        }
        #expect(throws: ScoreCAMError.self) { try explainer.explain(input, activations: activations, targetsPerImage: [[0], [1, 2]]) }
    }

    @Test func scoringClosureMatchesClassTargets() throws {
        let byClass = try Explainer(outputDim: model.d, forward: model.forward)
        let scored = try Explainer(outputDim: model.d, forward: model.forward)
        scored.scoring = { outputs, count, targets in
            (0..<count).flatMap { i in targets.map { outputs[i * 3 + $0] } }
        }
        let expected = try byClass.explain(model.input, activations: model.activations, targets: [1, 0])
        #expect(try scored.explain(model.input, activations: model.activations, targets: [1, 0]) == expected)
    }

    @Test func everyTargetFromOneSetOfForwards() throws {
        var images = 0
        let explainer = try Explainer(outputDim: model.d) { batch, shape in
            images += shape.count
            return model.run(batch, count: shape.count)
        }
        explainer.parameters.selection = .max
        explainer.parameters.selectionCount = 3
        let both = try explainer.explain(model.input, activations: model.activations, targets: [0, 1])
        #expect(images == 3)
        #expect(explainer.details[0].channels.count == 3)
        let one = try explainer.explain(model.input, activations: model.activations, targets: [1])
        #expect(Array(both.scalars[(64)...]) == one.scalars)
    }

    @Test func explicitChannelsAreExplainedAsGiven() throws {
        let explainer = try Explainer(outputDim: model.d, forward: model.forward)
        explainer.channels = [3, 1]
        _ = try explainer.explain(model.input, activations: model.activations, targets: [0])
        #expect(explainer.details[0].channels == [3, 1])
        explainer.channels = [7]
        let error = #expect(throws: ScoreCAMError.self) {
            try explainer.explain(model.input, activations: model.activations, targets: [0])
        }
        #expect(error?.code == .invalidArgument)
    }

    @Test func presetsSetTheirKnobs() throws {
        let explainer = try Explainer(outputDim: model.d, preset: .torchcam, forward: model.forward)
        explainer.parameters.batchSize = 2
        #expect(explainer.parameters.normalizeMaskFirst)
        let activations = try Tensor(shape: [5, 4, 4], scalars: model.values(3, 80))
        let size = try explainer.mapSize(input: model.input, activations: activations)
        #expect(size == (4, 4))
        #expect(try explainer.explain(model.input, activations: activations, targets: [0]).shape == [1, 1, 4, 4])
        explainer.parameters = explainer.parameters.applying(.seed)
        #expect(explainer.parameters.batchSize == 2)
        #expect(!explainer.parameters.normalizeMaskFirst)
        // presetNames is `package` (not what users see): this test target is in the same package.
        #expect(Preset.allCases.map(\.rawValue) == Parameters.presetNames)
    }

    struct ModelFailure: Error, Equatable { let code: Int }

    @Test func aThrowingForwardEndsTheRunWithItsError() throws {
        let explainer = try Explainer(outputDim: model.d) { _, _ in throw ModelFailure(code: 7) }
        let error = #expect(throws: ScoreCAMError.self) {
            try explainer.explain(model.input, activations: model.activations, targets: [0])
        }
        #expect(error?.code == .callback)
        #expect(error?.underlying as? ModelFailure == ModelFailure(code: 7))
        #expect(explainer.details.isEmpty)
    }

    @Test func aForwardReturningTheWrongCountIsACallbackError() throws {
        let explainer = try Explainer(outputDim: model.d) { _, _ in [1, 2] }
        let error = #expect(throws: ScoreCAMError.self) {
            try explainer.explain(model.input, activations: model.activations, targets: [0])
        }
        #expect(error?.code == .callback)
        #expect(error?.message.contains("returned 2 values") == true)
    }

    @Test func progressReportsAndCancels() throws {
        var reports = [(Int, Int)]()
        let explainer = try Explainer(outputDim: model.d, forward: model.forward)
        explainer.parameters.batchSize = 2
        explainer.progress = { done, total in reports.append((done, total)); return true }
        _ = try explainer.explain(model.input, activations: model.activations, targets: [0])
        #expect(reports.last.map { $0.0 == $0.1 } == true)
        #expect(reports.allSatisfy { $0.0 <= $0.1 })
        explainer.progress = { _, _ in false }
        let error = #expect(throws: ScoreCAMError.self) {
            try explainer.explain(model.input, activations: model.activations, targets: [0])
        }
        #expect(error?.code == .cancelled)
    }

    @Test func badInputsGetClearErrors() throws {
        #expect(throws: ScoreCAMError.self) { try Tensor(shape: [2, 2], scalars: [1, 2, 3]) }
        #expect(throws: ScoreCAMError.self) { try Tensor(shape: [2, 0]) }
        #expect(throws: ScoreCAMError.self) { try Explainer(outputDim: 0, forward: model.forward) }
        let explainer = try Explainer(outputDim: model.d, forward: model.forward)
        func code(_ body: () throws -> Void) -> ScoreCAMError.Code? {
            do { try body(); return nil } catch { return (error as? ScoreCAMError)?.code }
        }
        let flat = try Tensor(shape: [192], scalars: model.input.scalars)
        #expect(code { _ = try explainer.explain(flat, activations: model.activations, targets: [0]) } == .shape)
        let twoImages = try Tensor(shape: [2, 5, 8, 8], scalars: model.activations.scalars + model.activations.scalars)
        #expect(code { _ = try explainer.explain(model.input, activations: twoImages, targets: [0]) } == .shape)
        #expect(code { _ = try explainer.explain(model.input, activations: model.activations, targets: [3]) } == .invalidArgument)
        #expect(code { _ = try explainer.explain(model.input, activations: model.activations, targets: []) } == .invalidArgument)
        // Parameters are checked by the engine's one table, as they are behind the C ABI.
        explainer.parameters.adaptiveTolerance = 0.1
        explainer.parameters.adaptiveStep = 0
        #expect(code { _ = try explainer.explain(model.input, activations: model.activations, targets: [0]) } == .invalidArgument)
        explainer.parameters = Parameters()
        explainer.parameters.batchSize = 0
        #expect(code { _ = try explainer.explain(model.input, activations: model.activations, targets: [0]) } == .invalidArgument)
        explainer.parameters = Parameters()
        var nan = model.input
        nan[1, 2, 3] = .nan
        #expect(code { _ = try explainer.explain(nan, activations: model.activations, targets: [0]) } == .nonFinite)
    }

    @Test func masksAndMetrics() throws {
        let explainer = try Explainer(outputDim: model.d, forward: model.forward)
        let masks = try explainer.masks(activations: model.activations, size: (8, 8), channels: [4, 0])
        #expect(masks.shape == [2, 1, 8, 8])
        #expect(masks.scalars.allSatisfy { $0 >= 0 && $0 <= 1 })
        let masked = try explainer.masks(activations: model.activations, size: (8, 8), channels: [4], input: model.input)
        #expect(masked.shape == [1, 3, 8, 8])
        for p in 0..<64 { #expect(abs(masked.scalars[64 + p] - model.input.scalars[64 + p] * masks.scalars[p]) <= 1e-6) }

        let maps = try explainer.explain(model.input, activations: model.activations, targets: [0, 1])
        let inputs = try Tensor(shape: [1, 3, 8, 8], scalars: model.input.scalars)
        explainer.parameters.metricScore = .logit
        let ic = try explainer.evaluate(.increaseInConfidence, input: inputs, maps: maps, targets: [0, 1])
        #expect(ic.count == 2 && ic.allSatisfy { $0 == 0 || $0 == 1 })
        let insertion = try explainer.evaluate(.insertion, input: inputs, maps: maps, targets: [0, 1])
        #expect(insertion.count == 2 && insertion.allSatisfy(\.isFinite))
    }
}
