#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A malloc'd array whose allocation failure is an error, not a trap: every allocation whose size
/// a caller controls goes through here, so a host gets SCORECAM_E_OUT_OF_MEMORY back.
final class HeapBuffer<Element>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Element>
    let count: Int

    init(count: Int) throws(EngineError) {
        let (bytes, overflow) = max(count, 1).multipliedReportingOverflow(by: MemoryLayout<Element>.stride)
        guard count >= 0, !overflow, let raw = malloc(bytes) else {
            throw EngineError(.outOfMemory, "cannot allocate \(count) elements of \(MemoryLayout<Element>.stride) bytes")
        }
        pointer = raw.bindMemory(to: Element.self, capacity: max(count, 1))
        self.count = count
    }

    deinit { free(pointer) }
}

/// Masked-image batches, outputs, scores and scratch planes.
typealias FloatBuffer = HeapBuffer<Float>
