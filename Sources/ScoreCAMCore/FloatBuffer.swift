#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A malloc'd array of a trivial type whose allocation failure is an error, not a trap: every allocation whose size
/// a caller controls goes through here, so a host gets SCORECAM_E_OUT_OF_MEMORY back.
final class HeapBuffer<Element>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Element>
    let count: Int

    init(count: Int) throws(EngineError) {
        let (bytes, overflow) = max(count, 1).multipliedReportingOverflow(by: MemoryLayout<Element>.stride)
        // Beyond physical memory malloc may still succeed (overcommit), and touching the pages
        // would get the process killed: refuse it as a failed allocation.
        guard count >= 0, !overflow, bytes <= Sizes.physicalMemory, let raw = malloc(bytes) else {
            throw EngineError(.outOfMemory, "cannot allocate \(count) elements of \(MemoryLayout<Element>.stride) bytes (this machine has \(Sizes.physicalMemory) bytes)")
        }
        pointer = raw.bindMemory(to: Element.self, capacity: max(count, 1))
        self.count = count
    }

    deinit { free(pointer) }
}

/// Masked-image batches, outputs, scores and scratch planes.
typealias FloatBuffer = HeapBuffer<Float>
