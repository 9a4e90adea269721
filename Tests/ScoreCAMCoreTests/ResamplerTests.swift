import Testing
@testable import ScoreCAMCore

@Suite struct ResamplerTests {
    static let modes: [String: UpsampleMode] = [
        "bicubic": .bicubic, "bilinear": .bilinear, "bilinear_align_corners": .bilinearAlignCorners,
    ]

    @Test func matchesPyTorchInterpolate() throws {
        let file = try Fixtures.load("resize.json", as: Fixtures.ResizeFile.self)
        #expect(file.cases.count == 15)
        for fixture in file.cases {
            let resampler = Resampler(from: (fixture.in_h, fixture.in_w), to: (fixture.out_h, fixture.out_w),
                                      mode: try #require(Self.modes[fixture.mode]))
            var output = [Float](repeating: .nan, count: fixture.out_h * fixture.out_w)
            var scratch = [Float](repeating: 0, count: resampler.scratchCount)
            fixture.input.withUnsafeBufferPointer { src in
                output.withUnsafeMutableBufferPointer { dst in
                    scratch.withUnsafeMutableBufferPointer { resampler.resize(src.baseAddress!, into: dst.baseAddress!, scratch: $0.baseAddress!) }
                }
            }
            #expect(relativeError(output, fixture.output) < 1e-5,
                    "\(fixture.mode) \(fixture.in_h)x\(fixture.in_w) -> \(fixture.out_h)x\(fixture.out_w)")
        }
    }

    /// sum_k w_k up(A_k) == up(sum_k w_k A_k): why the engine never holds K full-size maps.
    @Test(arguments: [UpsampleMode.bicubic, .bilinear, .bilinearAlignCorners])
    func upsamplingIsLinear(mode: UpsampleMode) {
        var rng = SplitMix(seed: 7)
        let (k, h, w, outH, outW) = (6, 5, 7, 23, 31)
        let planes = (0..<k).map { _ in (0..<(h * w)).map { _ in rng.nextFloat() * 4 - 2 } }
        let weights = (0..<k).map { _ in rng.nextFloat() }
        let resampler = Resampler(from: (h, w), to: (outH, outW), mode: mode)
        func up(_ plane: [Float]) -> [Float] {
            var out = [Float](repeating: 0, count: outH * outW)
            var scratch = [Float](repeating: 0, count: resampler.scratchCount)
            plane.withUnsafeBufferPointer { p in
                out.withUnsafeMutableBufferPointer { o in
                    scratch.withUnsafeMutableBufferPointer { resampler.resize(p.baseAddress!, into: o.baseAddress!, scratch: $0.baseAddress!) }
                }
            }
            return out
        }
        var sumOfUpsampled = [Float](repeating: 0, count: outH * outW)
        for (plane, weight) in zip(planes, weights) {
            for (i, v) in up(plane).enumerated() { sumOfUpsampled[i] += weight * v }
        }
        var lowSum = [Float](repeating: 0, count: h * w)
        for (plane, weight) in zip(planes, weights) {
            for (i, v) in plane.enumerated() { lowSum[i] += weight * v }
        }
        #expect(relativeError(up(lowSum), sumOfUpsampled) < 1e-5)
    }
}

/// A tiny deterministic generator so tests need no global RNG state.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func nextFloat() -> Float { Float(next() >> 40) / Float(1 << 24) }
}
