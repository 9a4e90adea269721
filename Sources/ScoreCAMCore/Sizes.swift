#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Overflow-checked size arithmetic and memory bounds, in one place: every count or byte size the
/// engine derives from a caller's dimensions or parameters goes through here, so an overflow or an
/// impossible size is an error the caller gets back, never a trap.
package enum Sizes {
    /// The product of `factors` (each >= 0), or `.shape` naming `what` when it overflows or its
    /// byte size (`elementSize` bytes each) does.
    package static func product(_ factors: [Int], elementSize: Int = 1,
                               _ what: @autoclosure () -> String) throws(EngineError) -> Int {
        var total = 1
        for factor in factors + [elementSize] {
            guard factor >= 0 else { throw EngineError(.shape, "\(what()): negative size \(factor)") }
            let (next, overflow) = total.multipliedReportingOverflow(by: factor)
            guard !overflow else {
                throw EngineError(.shape, "\(what()) of \(factors.map(String.init).joined(separator: " x ")) elements overflows")
            }
            total = next
        }
        return total / Swift.max(elementSize, 1)
    }

    /// The bytes of the product of `factors` elements of `elementSize` bytes, or `.shape` when it overflows.
    package static func bytes(_ factors: [Int], elementSize: Int,
                             _ what: @autoclosure () -> String) throws(EngineError) -> Int {
        try product(factors, elementSize: elementSize, what()) * elementSize
    }

    /// a + b, or `.shape` naming `what` when it overflows.
    package static func sum(_ a: Int, _ b: Int, _ what: @autoclosure () -> String) throws(EngineError) -> Int {
        let (total, overflow) = a.addingReportingOverflow(b)
        guard !overflow else { throw EngineError(.shape, "\(what()) overflows (\(a) + \(b))") }
        return total
    }

    /// The machine's physical memory in bytes (Int.max if unknown).
    package static let physicalMemory: Int = {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), pageSize = sysconf(Int32(_SC_PAGESIZE))
        guard pages > 0, pageSize > 0 else { return Int.max }
        let (bytes, overflow) = pages.multipliedReportingOverflow(by: pageSize)
        return overflow ? Int.max : bytes
    }()

    /// Throws `.outOfMemory` when a run would need more than the machine's physical memory: such an
    /// allocation may succeed (overcommit) and then get the process killed when touched.
    package static func requireAffordable(bytes: Int, _ what: @autoclosure () -> String) throws(EngineError) {
        guard bytes <= physicalMemory else {
            throw EngineError(.outOfMemory, "\(what()) needs \(bytes) bytes, more than the \(physicalMemory) bytes of memory this machine has")
        }
    }
}

/// The largest magnitude the engine accepts in data it multiplies, differences or resamples:
/// a quarter of float32's range, so that (x - min), bicubic overshoot and sums of two stay finite.
let largestSafeMagnitude = Double(Float.greatestFiniteMagnitude) / 4

/// Throws `.nonFinite` naming the first NaN or Inf; returns the largest magnitude found.
@discardableResult
func requireFinite(_ values: UnsafePointer<Float>, count: Int, what: String) throws(EngineError) -> Float {
    var largest: Float = 0
    for i in 0..<count {
        let value = values[i]
        guard value.isFinite else {
            throw EngineError(.nonFinite, "\(what) hold a non-finite value (\(value)) at flat index \(i)")
        }
        largest = Swift.max(largest, value.magnitude)
    }
    return largest
}

/// Throws `.invalidArgument` when data of magnitude `largest` is too large to compute with.
func requireSafeMagnitude(_ largest: Float, what: String) throws(EngineError) {
    guard Double(largest) <= largestSafeMagnitude else {
        throw EngineError(.invalidArgument, "\(what) hold values of magnitude \(largest): above \(Float(largestSafeMagnitude)), their differences and resampling overflow float32; rescale them")
    }
}
