import Testing
@testable import ScoreCAMCore

@Suite struct ExplicitChannelsTests {
    /// One image, channel c constant at `values[c]` with one raised pixel of `peaks[c]`.
    func activations(_ values: [Float], peaks: [Float]) -> [Float] {
        values.indices.flatMap { c -> [Float] in
            var plane = [Float](repeating: values[c], count: 9)
            plane[4] += peaks[c]
            return plane
        }
    }

    func plan(_ channels: [Int], _ data: [Float], k: Int) throws(EngineError) -> [Int] {
        try data.withUnsafeBufferPointer { buffer throws(EngineError) in
            try explicitChannelPlan(channels, activations: TensorView(buffer.baseAddress!, 1, k, 3, 3), image: 0)
        }
    }

    @Test func keepsTheHostsChannelsAndOrder() throws {
        let data = activations([0, 0, 0, 0], peaks: [1, 5, 3, 5])
        #expect(try plan([3, 0, 2], data, k: 4) == [3, 0, 2])
    }

    @Test func rejectsOutOfRangeRepeatedEmptyAndAllConstant() {
        let data = activations([0, 0, 1], peaks: [1, 2, 0])
        for (channels, kind) in [([0, 3], EngineError.Kind.invalidArgument), ([1, 1], .invalidArgument),
                                 ([], .invalidArgument), ([2], .degenerate)] {
            do {
                _ = try plan(channels, data, k: 3)
                Issue.record("expected an error for \(channels)")
            } catch {
                #expect(error.kind == kind)
            }
        }
    }

    @Test func channelListCopiesChecksAndBoundsTheHostsList() throws {
        let host: [Int64] = [4, 0, 2]
        let list = try host.withUnsafeBufferPointer { try ChannelList(copying: $0.baseAddress!, count: 3) }
        #expect(list.count == 3)
        #expect(try list.channels(below: 5) == [4, 0, 2])
        #expect(throws: EngineError.self) { try list.channels(below: 4) }  // 4 is outside 4 channels
        for (bad, message) in [([1, -1] as [Int64], "channels[1] is negative"), ([5, 1, 5, 1], "channels[3] = 1 is listed twice")] {
            do {
                _ = try bad.withUnsafeBufferPointer { try ChannelList(copying: $0.baseAddress!, count: bad.count) }
                Issue.record("expected an error for \(bad)")
            } catch let error as EngineError {
                #expect(error.kind == .invalidArgument && error.message.contains(message), "\(error.message)")
            }
        }
        // A length no machine holds is refused before an entry is read (only 3 exist here).
        for count in [Int.max, 1 << 60] {
            do {
                _ = try host.withUnsafeBufferPointer { try ChannelList(copying: $0.baseAddress!, count: count) }
                Issue.record("expected outOfMemory for \(count)")
            } catch let error as EngineError {
                #expect(error.kind == .outOfMemory && error.message.contains("\(count) channels"), "\(error.message)")
            }
        }
    }
}
