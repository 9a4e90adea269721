/// The inner loops of mask building, written over SIMD lanes.
///
/// The library is built for baseline x86-64 (SSE2, 128-bit registers): eight lanes are two
/// registers, enough independent chains to hide the latency of the min/max and multiply-add
/// chains that a one-float-at-a-time loop serialises on. Every kernel does the same float
/// operations, in the same order per element, as the scalar loops it replaces, so its results are
/// bit-identical to theirs.
typealias FloatLanes = SIMD8<Float>

@inline(__always)
func loadLanes(_ p: UnsafePointer<Float>) -> FloatLanes {
    UnsafeRawPointer(p).loadUnaligned(as: FloatLanes.self)
}

@inline(__always)
func storeLanes(_ value: FloatLanes, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: value, as: FloatLanes.self)
}

/// A running (min, max) over lanes and single floats, for finite values (plain `<`: the inputs
/// are checked finite before any kernel runs, so no NaN rules are needed, and `<` with a select
/// compiles to MINPS/MAXPS).
struct RangeAccumulator {
    private var lo: FloatLanes
    private var hi: FloatLanes

    init(first: Float) {
        lo = FloatLanes(repeating: first)
        hi = lo
    }

    /// Empty: the first value added sets both ends.
    init() {
        lo = FloatLanes(repeating: .infinity)
        hi = FloatLanes(repeating: -.infinity)
    }

    @inline(__always)
    mutating func add(_ v: FloatLanes) {
        lo.replace(with: v, where: v .< lo)
        hi.replace(with: v, where: hi .< v)
    }

    @inline(__always)
    mutating func add(_ v: Float) {
        add(FloatLanes(repeating: v))
    }

    var range: (lo: Float, hi: Float) { (lo.min(), hi.max()) }
}

/// (min, max) of count >= 1 finite floats.
func minMax(_ x: UnsafePointer<Float>, count: Int) -> (lo: Float, hi: Float) {
    var a = RangeAccumulator(first: x[0]), b = RangeAccumulator(first: x[0])
    var i = 0
    while i + 16 <= count {
        a.add(loadLanes(x + i))
        b.add(loadLanes(x + i + 8))
        i += 16
    }
    while i < count {
        a.add(x[i])
        i += 1
    }
    let (loA, hiA) = a.range, (loB, hiB) = b.range
    return (Swift.min(loA, loB), Swift.max(hiA, hiB))
}

/// The factor that maps [lo, hi] onto [0, 1] as (x - lo) * scale with scale = 1 / (hi - lo + eps);
/// 0 for a constant plane with eps = 0 (zeros instead of 0 / 0).
func normalizationScale(lo: Float, hi: Float, eps: Double) -> Float {
    let range = Double(hi - lo) + eps
    // Capped: 1 / range can exceed float32 (a tiny eps on a constant plane), and Inf * 0 is NaN;
    // below the cap (x - lo) <= range keeps every value <= 1 anyway.
    return range > 0 ? Float(Swift.min(1 / range, Double(Float.greatestFiniteMagnitude))) : 0
}

/// x = (x - lo) * scale, in place.
func applyNormalization(_ x: UnsafeMutablePointer<Float>, count: Int, lo: Float, scale: Float) {
    let loLanes = FloatLanes(repeating: lo), scaleLanes = FloatLanes(repeating: scale)
    var i = 0
    while i + 8 <= count {
        storeLanes((loadLanes(x + i) - loLanes) * scaleLanes, x + i)
        i += 8
    }
    while i < count {
        x[i] = (x[i] - lo) * scale
        i += 1
    }
}

/// A masked image: out_c = b + (x_c - b) * m for every channel c, with m = (mask - lo) * scale,
/// the mask's normalization folded in ((lo, scale) = (0, 1) for a mask normalized already: exact,
/// since (m - 0) * 1 == m). With b == 0 the classic out_c = x_c * m. x and out hold `channels`
/// planes of `count` floats. Three channels (RGB) go in one pass over the mask, m computed once
/// per pixel; other counts one channel at a time.
func maskMultiply(_ x: UnsafePointer<Float>, mask: UnsafePointer<Float>, count: Int, channels: Int,
                  lo: Float, scale: Float, baseline b: Float, into out: UnsafeMutablePointer<Float>) {
    guard channels == 3 else {
        for c in 0..<channels {
            maskMultiplyPlanes(x + c * count, nil, nil, mask: mask, count: count, lo: lo, scale: scale, baseline: b,
                               into: out + c * count, nil, nil)
        }
        return
    }
    maskMultiplyPlanes(x, x + count, x + 2 * count, mask: mask, count: count, lo: lo, scale: scale, baseline: b,
                       into: out, out + count, out + 2 * count)
}

/// One, or three (x1, x2 and o1, o2 given), planes of a masked image.
@inline(__always)
private func maskMultiplyPlanes(_ x0: UnsafePointer<Float>, _ x1: UnsafePointer<Float>?, _ x2: UnsafePointer<Float>?,
                                mask: UnsafePointer<Float>, count: Int, lo: Float, scale: Float, baseline b: Float,
                                into o0: UnsafeMutablePointer<Float>, _ o1: UnsafeMutablePointer<Float>?,
                                _ o2: UnsafeMutablePointer<Float>?) {
    let loLanes = FloatLanes(repeating: lo), scaleLanes = FloatLanes(repeating: scale)
    let bLanes = FloatLanes(repeating: b)
    let blocks = count / 8
    if let x1, let x2, let o1, let o2 {
        if b == 0 {
            for block in 0..<blocks {
                let i = block &* 8
                let m = (loadLanes(mask + i) - loLanes) * scaleLanes
                storeLanes(loadLanes(x0 + i) * m, o0 + i)
                storeLanes(loadLanes(x1 + i) * m, o1 + i)
                storeLanes(loadLanes(x2 + i) * m, o2 + i)
            }
        } else {
            for block in 0..<blocks {
                let i = block &* 8
                let m = (loadLanes(mask + i) - loLanes) * scaleLanes
                storeLanes(bLanes + (loadLanes(x0 + i) - bLanes) * m, o0 + i)
                storeLanes(bLanes + (loadLanes(x1 + i) - bLanes) * m, o1 + i)
                storeLanes(bLanes + (loadLanes(x2 + i) - bLanes) * m, o2 + i)
            }
        }
        for i in (blocks * 8)..<count {
            let m = (mask[i] - lo) * scale
            o0[i] = b == 0 ? x0[i] * m : b + (x0[i] - b) * m
            o1[i] = b == 0 ? x1[i] * m : b + (x1[i] - b) * m
            o2[i] = b == 0 ? x2[i] * m : b + (x2[i] - b) * m
        }
        return
    }
    if b == 0 {
        for block in 0..<blocks {
            let i = block &* 8
            storeLanes(loadLanes(x0 + i) * ((loadLanes(mask + i) - loLanes) * scaleLanes), o0 + i)
        }
    } else {
        for block in 0..<blocks {
            let i = block &* 8
            storeLanes(bLanes + (loadLanes(x0 + i) - bLanes) * ((loadLanes(mask + i) - loLanes) * scaleLanes), o0 + i)
        }
    }
    for i in (blocks * 8)..<count {
        let m = (mask[i] - lo) * scale
        o0[i] = b == 0 ? x0[i] * m : b + (x0[i] - b) * m
    }
}

/// dst[x] = sum_j weights[j] * rows[j][x] for x < count, summed in tap order (the order of the
/// scalar loop it replaces), and the range of what was written.
@inline(__always)
func weightedRowSum(_ rows: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>),
                    _ weights: (Float, Float, Float, Float), taps: Int, count: Int,
                    into dst: UnsafeMutablePointer<Float>, range: inout RangeAccumulator) {
    let (r0, r1, r2, r3) = rows
    let (w0, w1, w2, w3) = weights
    let l0 = FloatLanes(repeating: w0), l1 = FloatLanes(repeating: w1)
    let l2 = FloatLanes(repeating: w2), l3 = FloatLanes(repeating: w3)
    var x = 0
    if taps == 4 {
        while x + 8 <= count {
            let v = l0 * loadLanes(r0 + x) + l1 * loadLanes(r1 + x) + l2 * loadLanes(r2 + x) + l3 * loadLanes(r3 + x)
            storeLanes(v, dst + x)
            range.add(v)
            x += 8
        }
        while x < count {
            let v = w0 * r0[x] + w1 * r1[x] + w2 * r2[x] + w3 * r3[x]
            dst[x] = v
            range.add(v)
            x += 1
        }
    } else {
        while x + 8 <= count {
            let v = l0 * loadLanes(r0 + x) + l1 * loadLanes(r1 + x)
            storeLanes(v, dst + x)
            range.add(v)
            x += 8
        }
        while x < count {
            let v = w0 * r0[x] + w1 * r1[x]
            dst[x] = v
            range.add(v)
            x += 1
        }
    }
}
