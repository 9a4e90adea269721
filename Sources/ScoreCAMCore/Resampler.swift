/// One axis of a separable resize: for every output index, the source indices it reads (already
/// clamped to the border) and their weights. Built once per run, reused for every channel.
/// Source positions and weights are computed in Float, as PyTorch computes them for float tensors.
struct AxisTable: Sendable {
    let taps: Int
    let indices: [Int]
    let weights: [Float]

    init(from inSize: Int, to outSize: Int, mode: UpsampleMode) {
        var indices = [Int]()
        var weights = [Float]()
        let last = inSize - 1
        func clamp(_ i: Int) -> Int { Swift.min(Swift.max(i, 0), last) }
        switch mode {
        case .bicubic:
            // PyTorch upsample_bicubic2d: source = scale * (dst + 0.5) - 0.5, not clamped;
            // cubic convolution with a = -0.75 over taps floor(source) - 1 ... + 2.
            let scale = Float(inSize) / Float(outSize)
            let a: Float = -0.75
            func near(_ x: Float) -> Float { ((a + 2) * x - (a + 3)) * x * x + 1 }
            func far(_ x: Float) -> Float { ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }
            for dst in 0..<outSize {
                let source = scale * (Float(dst) + 0.5) - 0.5
                let base = source.rounded(.down)
                let t = Swift.min(Swift.max(source - base, 0), 1)
                let coefficients = [far(t + 1), near(t), near(1 - t), far(2 - t)]
                for j in 0..<4 {
                    indices.append(clamp(Int(base) - 1 + j))
                    weights.append(coefficients[j])
                }
            }
            taps = 4
        case .bilinear, .bilinearAlignCorners:
            let alignCorners = mode == .bilinearAlignCorners
            let scale: Float = alignCorners
                ? (outSize > 1 ? Float(inSize - 1) / Float(outSize - 1) : 0)
                : Float(inSize) / Float(outSize)
            for dst in 0..<outSize {
                // PyTorch clamps a negative linear source index to 0 (align_corners=False).
                let source = alignCorners ? scale * Float(dst) : Swift.max(scale * (Float(dst) + 0.5) - 0.5, 0)
                let i0 = Swift.min(Int(source), last)
                let i1 = Swift.min(i0 + 1, last)
                let lambda = Swift.min(Swift.max(source - Float(i0), 0), 1)
                indices.append(contentsOf: [i0, i1])
                weights.append(contentsOf: [1 - lambda, lambda])
            }
            taps = 2
        }
        self.indices = indices
        self.weights = weights
    }
}

/// Resizes h x w planes to H x W in two separable passes through a scratch plane: rows first
/// (h x W scratch) unless columns first (H x w) needs less scratch.
package struct Resampler: Sendable {
    package let inHeight: Int, inWidth: Int, outHeight: Int, outWidth: Int
    let rows: AxisTable
    let columns: AxisTable

    package init(from inSize: (h: Int, w: Int), to outSize: (h: Int, w: Int), mode: UpsampleMode) {
        inHeight = inSize.h
        inWidth = inSize.w
        outHeight = outSize.h
        outWidth = outSize.w
        rows = AxisTable(from: inSize.h, to: outSize.h, mode: mode)
        columns = AxisTable(from: inSize.w, to: outSize.w, mode: mode)
    }

    /// Columns first only where that needs less scratch: the smaller of the two never exceeds the
    /// larger of the source and destination planes, so no shape of activations and input can make
    /// the scratch larger than what the caller already holds.
    var verticalFirst: Bool { product(outHeight, inWidth) < product(inHeight, outWidth) }

    /// Floats of scratch that `resize` needs (Int.max when that overflows: no allocation succeeds).
    package var scratchCount: Int { verticalFirst ? product(outHeight, inWidth) : product(inHeight, outWidth) }

    private func product(_ a: Int, _ b: Int) -> Int {
        let (count, overflow) = a.multipliedReportingOverflow(by: b)
        return overflow ? Int.max : count
    }

    /// dst (outHeight x outWidth) = resize(src (inHeight x inWidth)); returns the range of dst
    /// (its min and max, for the masks' normalization: found in the vertical pass when that
    /// pass comes last, the usual case).
    @discardableResult
    package func resize(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>,
                       scratch: UnsafeMutablePointer<Float>) -> (lo: Float, hi: Float) {
        if verticalFirst {
            _ = resizeColumns(src, width: inWidth, into: scratch)
            resizeRows(UnsafePointer(scratch), rows: outHeight, into: dst)
            return minMax(dst, count: outHeight * outWidth)
        }
        resizeRows(src, rows: inHeight, into: scratch)
        return resizeColumns(UnsafePointer(scratch), width: outWidth, into: dst)
    }

    /// The horizontal pass, output column by output column (a column's taps and weights are read
    /// once for all rows): `count` rows of inWidth floats become rows of outWidth floats.
    private func resizeRows(_ src: UnsafePointer<Float>, rows count: Int, into dst: UnsafeMutablePointer<Float>) {
        columns.indices.withUnsafeBufferPointer { ci in
            columns.weights.withUnsafeBufferPointer { cw in
                let taps = columns.taps
                for x in 0..<outWidth {
                    let index = ci.baseAddress! + x * taps, weight = cw.baseAddress! + x * taps
                    if taps == 4 {
                        let (i0, i1, i2, i3) = (index[0], index[1], index[2], index[3])
                        let (w0, w1, w2, w3) = (weight[0], weight[1], weight[2], weight[3])
                        for r in 0..<count {
                            let srcRow = src + r * inWidth
                            var sum: Float = 0
                            sum += w0 * srcRow[i0]
                            sum += w1 * srcRow[i1]
                            sum += w2 * srcRow[i2]
                            sum += w3 * srcRow[i3]
                            dst[r * outWidth + x] = sum
                        }
                        continue
                    }
                    for r in 0..<count {
                        let srcRow = src + r * inWidth
                        var sum: Float = 0
                        for j in 0..<taps { sum += weight[j] * srcRow[index[j]] }
                        dst[r * outWidth + x] = sum
                    }
                }
            }
        }
    }

    /// The vertical pass: inHeight rows of `width` floats become outHeight rows, each a weighted
    /// sum of 2 or 4 source rows, all taps in one pass over the row (Kernels.swift), tracking the
    /// range as it goes.
    private func resizeColumns(_ src: UnsafePointer<Float>, width: Int,
                               into dst: UnsafeMutablePointer<Float>) -> (lo: Float, hi: Float) {
        var range = RangeAccumulator()
        rows.indices.withUnsafeBufferPointer { ri in
            rows.weights.withUnsafeBufferPointer { rw in
                let taps = rows.taps
                for y in 0..<outHeight {
                    func row(_ j: Int) -> UnsafePointer<Float> { src + ri[y * taps + Swift.min(j, taps - 1)] * width }
                    func weight(_ j: Int) -> Float { j < taps ? rw[y * taps + j] : 0 }
                    weightedRowSum((row(0), row(1), row(2), row(3)), (weight(0), weight(1), weight(2), weight(3)),
                                   taps: taps, count: width, into: dst + y * width, range: &range)
                }
            }
        }
        return range.range
    }
}
