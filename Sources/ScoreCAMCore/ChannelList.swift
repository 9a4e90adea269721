/// A host's explicit channel list (scorecam_explainer_set_channels), checked and copied into
/// malloc'd storage. Its length is the host's to choose, so a list this machine cannot hold is an
/// error (`.outOfMemory`), never a trap: nothing is reserved and no entry read before that check.
package final class ChannelList {
    private let storage: HeapBuffer<Int>

    package var count: Int { storage.count }

    /// Copies `count` channels. Repeats are found on a sorted copy (no hash set to grow).
    ///
    /// - Throws: `.outOfMemory` when the list and its sorted copy would need more than the
    ///   machine's memory or an allocation fails; `.invalidArgument` naming a negative or
    ///   repeated entry.
    package init(copying channels: UnsafePointer<Int64>, count: Int) throws(EngineError) {
        let perChannel = 2 * MemoryLayout<Int>.stride  // the list and its sorted copy
        let (bytes, overflow) = count.multipliedReportingOverflow(by: perChannel)
        guard count >= 0, !overflow, bytes <= Sizes.physicalMemory else {
            let needed = overflow ? "more than \(Int.max)" : "\(bytes)"
            throw EngineError(.outOfMemory, "a list of \(count) channels needs \(needed) bytes (\(perChannel) per channel), more than the \(Sizes.physicalMemory) bytes of memory this machine has")
        }
        storage = try HeapBuffer<Int>(count: count)
        let sorted = try HeapBuffer<Int>(count: count)
        for i in 0..<count {
            let channel = channels[i]
            guard channel >= 0 else {
                throw EngineError(.invalidArgument, "channels[\(i)] is negative (\(channel))")
            }
            storage.pointer[i] = Int(channel)
            sorted.pointer[i] = Int(channel)
        }
        var ordered = UnsafeMutableBufferPointer(start: sorted.pointer, count: count)
        ordered.sort()
        for i in ordered.indices.dropFirst() where ordered[i] == ordered[i - 1] {
            let list = UnsafeBufferPointer(start: storage.pointer, count: count)
            let first = list.firstIndex(of: ordered[i])!
            let second = list[(first + 1)...].firstIndex(of: ordered[i])!
            throw EngineError(.invalidArgument, "channels[\(second)] = \(ordered[i]) is listed twice")
        }
    }

    /// The list as an array for a run over activations of `k` channels. An entry >= k is refused
    /// first, so the array never holds more than k entries (memory the host's activations already
    /// take), however long the list.
    package func channels(below k: Int) throws(EngineError) -> [Int] {
        let list = UnsafeBufferPointer(start: storage.pointer, count: count)
        if let outside = list.first(where: { $0 >= k }) {
            throw EngineError(.invalidArgument, "explicit channel \(outside) is outside the \(k) channels of the activations")
        }
        return Array(list)
    }
}
