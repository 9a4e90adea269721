import Testing
@testable import ScoreCAMCore

/// The SIMD kernels against the scalar loops they replaced: the same bits, for every length
/// around the 8- and 16-lane blocks (the scalar tails included).
@Suite struct KernelTests {
    static let lengths = [1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 64, 67, 224]

    static func values(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2_000_001) / 1_000_000 - 0.5
        }
    }

    @Test(arguments: lengths)
    func minMaxIsTheScalarRange(count: Int) {
        let x = Self.values(count, seed: UInt64(count))
        let (lo, hi) = x.withUnsafeBufferPointer { minMax($0.baseAddress!, count: count) }
        #expect(lo == x.min()!)
        #expect(hi == x.max()!)
    }

    @Test(arguments: [1, 3, 4], [0, 0.25] as [Float])
    func maskMultiplyIsTheScalarFormula(channels: Int, baseline: Float) {
        for count in Self.lengths {
            let x = Self.values(channels * count, seed: 7), mask = Self.values(count, seed: 9)
            let (lo, scale): (Float, Float) = (mask.min()!, 1 / (mask.max()! - mask.min()! + 1e-10))
            var out = [Float](repeating: .nan, count: channels * count)
            x.withUnsafeBufferPointer { x in
                mask.withUnsafeBufferPointer { m in
                    out.withUnsafeMutableBufferPointer {
                        maskMultiply(x.baseAddress!, mask: m.baseAddress!, count: count, channels: channels, lo: lo,
                                     scale: scale, baseline: baseline, into: $0.baseAddress!)
                    }
                }
            }
            let expected = (0..<(channels * count)).map { i -> Float in
                let m = (mask[i % count] - lo) * scale
                return baseline == 0 ? x[i] * m : baseline + (x[i] - baseline) * m
            }
            #expect(out.map(\.bitPattern) == expected.map(\.bitPattern), "count \(count)")
        }
    }

    @Test func resizeReturnsTheRangeOfWhatItWrote() {
        for mode in [UpsampleMode.bicubic, .bilinear, .bilinearAlignCorners] {
            for (inSize, outSize) in [((7, 7), (224, 224)), ((3, 4), (13, 11)), ((5, 6), (61, 67))] {
                let resampler = Resampler(from: inSize, to: outSize, mode: mode)
                let src = Self.values(inSize.0 * inSize.1, seed: 3)
                var dst = [Float](repeating: .nan, count: outSize.0 * outSize.1)
                var scratch = [Float](repeating: 0, count: resampler.scratchCount)
                let range = src.withUnsafeBufferPointer { src in
                    dst.withUnsafeMutableBufferPointer { dst in
                        scratch.withUnsafeMutableBufferPointer {
                            resampler.resize(src.baseAddress!, into: dst.baseAddress!, scratch: $0.baseAddress!)
                        }
                    }
                }
                #expect(range.lo == dst.min()! && range.hi == dst.max()!)
            }
        }
    }

    @Test func normalizeMinMaxMapsOntoTheUnitInterval() {
        var x = Self.values(67, seed: 5)
        x.withUnsafeMutableBufferPointer { normalizeMinMax($0.baseAddress!, count: $0.count, eps: 0) }
        #expect(x.min()! == 0)
        #expect(abs(x.max()! - 1) < 1e-6)
        var constant = [Float](repeating: 2, count: 9)
        constant.withUnsafeMutableBufferPointer { normalizeMinMax($0.baseAddress!, count: $0.count, eps: 0) }
        #expect(constant == [Float](repeating: 0, count: 9))
    }
}
