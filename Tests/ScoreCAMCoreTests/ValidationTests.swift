import Testing
@testable import ScoreCAMCore

/// The core validates its parameters itself (one table, one place): a Swift caller that sets fields
/// directly gets the errors a C caller gets from set_param.
@Suite struct ValidationTests {
    let c = 1, h = 4, w = 4, k = 3, ah = 2, aw = 2
    let input: [Float] = (0..<16).map { Float($0) / 16 }
    let activations: [Float] = (0..<12).map { Float(($0 * 7) % 5) }

    func explain(_ configure: (inout Parameters) -> Void) throws(EngineError) -> [Float] {
        var parameters = Parameters()
        configure(&parameters)
        let model = LinearModel(weight: (0..<(2 * 16)).map { Float($0 % 5) / 10 }, bias: [0, 1])
        var maps = [Float](repeating: -1, count: h * w)
        let (c, h, w, k, ah, aw) = (c, h, w, k, ah, aw)
        try input.withUnsafeBufferPointer { input throws(EngineError) in
            try activations.withUnsafeBufferPointer { acts throws(EngineError) in
                try maps.withUnsafeMutableBufferPointer { out throws(EngineError) in
                    _ = try ExplanationRun(parameters: parameters, input: TensorView(input.baseAddress!, 1, c, h, w),
                                      activations: TensorView(acts.baseAddress!, 1, k, ah, aw), targets: [1], numTargets: 1)
                        .run(host: model, maps: out.baseAddress!, mapsCapacity: out.count)
                }
            }
        }
        return maps
    }

    func evaluate(_ configure: (inout Parameters) -> Void) throws(EngineError) -> [Double] {
        var parameters = Parameters()
        configure(&parameters)
        let model = LinearModel(weight: (0..<(2 * 16)).map { Float($0 % 5) / 10 }, bias: [0, 1])
        let map: [Float] = (0..<16).map { Float($0 % 3) }
        let (c, h, w) = (c, h, w)
        return try input.withUnsafeBufferPointer { input throws(EngineError) in
            try map.withUnsafeBufferPointer { map throws(EngineError) in
                try Evaluation(parameters: parameters, input: TensorView(input.baseAddress!, 1, c, h, w),
                               maps: TensorView(map.baseAddress!, 1, 1, h, w), targets: [1]).run(.insertion, host: model)
            }
        }
    }

    func expectInvalid(_ name: String, _ body: () throws(EngineError) -> Void) {
        do {
            try body()
            Issue.record("\(name): no error")
        } catch {
            #expect(error.kind == .invalidArgument)
            #expect(error.message.contains(name))
        }
    }

    @Test func zeroAdaptiveStepIsRefused() throws {
        // Once: all-zero maps and no error.
        expectInvalid("ADAPTIVE_STEP") { () throws(EngineError) in
            _ = try explain { $0.adaptiveTolerance = 0.01; $0.adaptiveStep = 0 }
        }
        let maps = try explain { $0.adaptiveTolerance = 0.01; $0.adaptiveStep = 1 }
        #expect(maps.contains { $0 > 0 })
    }

    @Test func zeroMetricStepsIsRefused() throws {
        // Once: a division by zero.
        expectInvalid("METRIC_STEPS") { () throws(EngineError) in _ = try evaluate { $0.metricSteps = 0 } }
        #expect(try evaluate { $0.metricSteps = 4 }.count == 1)
    }

    @Test func everyFieldIsChecked() {
        expectInvalid("BATCH_SIZE") { () throws(EngineError) in _ = try explain { $0.batchSize = 0 } }
        expectInvalid("BASELINE") { () throws(EngineError) in _ = try explain { $0.baseline = .infinity } }
        expectInvalid("NORM_EPS") { () throws(EngineError) in _ = try explain { $0.normEps = -1 } }
        expectInvalid("SAMPLES") { () throws(EngineError) in _ = try explain { $0.samples = 1 << 21 } }
        expectInvalid("BATCH_MEMORY") { () throws(EngineError) in _ = try explain { $0.batchMemory = 0 } }
    }

    @Test func tableRoundTrips() throws {
        var parameters = Parameters()
        #expect(Parameters.table.map(\.id) == Array(1...Parameters.table.count))
        for info in Parameters.table {
            #expect(try parameters.value(info.id) == info.defaultValue)
            try parameters.set(info.id, info.maximum)
            #expect(try parameters.value(info.id) == info.maximum)
            try parameters.set(info.id, info.defaultValue)
        }
        #expect(parameters == Parameters())
        #expect(throws: EngineError.self) { try parameters.set(1, 1e19) }
        #expect(throws: EngineError.self) { try parameters.set(99, 1) }
    }
}

/// The resampler picks the pass order with the smaller scratch (issue 10, F5: activation height x
/// input width once asked for 26 GB); either order gives the same values.
@Suite struct ResamplerOrderTests {
    @Test(arguments: [UpsampleMode.bicubic, .bilinear, .bilinearAlignCorners])
    func columnsFirstEqualsRowsFirstOnTheTranspose(mode: UpsampleMode) {
        let (inH, inW, outH, outW) = (9, 2, 3, 17)
        let plane: [Float] = (0..<(inH * inW)).map { Float(($0 * 37) % 23) / 7 }
        let transposed: [Float] = (0..<(inW * inH)).map { plane[($0 % inH) * inW + $0 / inH] }
        let tall = Resampler(from: (inH, inW), to: (outH, outW), mode: mode)
        let wide = Resampler(from: (inW, inH), to: (outW, outH), mode: mode)
        #expect(tall.verticalFirst && !wide.verticalFirst)
        #expect(tall.scratchCount == outH * inW)
        var a = [Float](repeating: 0, count: outH * outW), b = a
        var scratchA = [Float](repeating: 0, count: tall.scratchCount)
        var scratchB = [Float](repeating: 0, count: wide.scratchCount)
        plane.withUnsafeBufferPointer { src in
            a.withUnsafeMutableBufferPointer { dst in
                scratchA.withUnsafeMutableBufferPointer { tall.resize(src.baseAddress!, into: dst.baseAddress!, scratch: $0.baseAddress!) }
            }
        }
        transposed.withUnsafeBufferPointer { src in
            b.withUnsafeMutableBufferPointer { dst in
                scratchB.withUnsafeMutableBufferPointer { wide.resize(src.baseAddress!, into: dst.baseAddress!, scratch: $0.baseAddress!) }
            }
        }
        for y in 0..<outH { for x in 0..<outW { #expect(a[y * outW + x] == b[x * outH + y]) } }
    }

    @Test func scratchNeverExceedsTheLargerPlane() {
        let cases = [((65536, 1), (1, 100000)), ((7, 7), (224, 224)), ((300, 2), (5, 900)), ((1, 1), (1, 1))]
        for (from, to) in cases {
            let r = Resampler(from: from, to: to, mode: .bilinear)
            #expect(r.scratchCount <= max(from.0 * from.1, to.0 * to.1))
        }
    }
}
