import _CScoreCAM
import ScoreCAMCore

// Explicit channels: the host's own channel choice, explained as given.

@c @implementation
public func scorecam_explainer_set_channels(_ explainer: OpaquePointer?, _ channels: UnsafePointer<Int64>?,
                                            _ numChannels: Int) -> Int32 {
    let handle = ExplainerHandle.from(explainer)
    return exported(handle) { () throws(ABIError) in
        let handle = try required(handle, "explainer")
        // Before anything else: a size_t above INT64_MAX arrives negative, NULL or not.
        let numChannels = try countArgument(numChannels, "num_channels")
        guard numChannels > 0 else {
            guard channels == nil else {
                throw ABIError(SCORECAM_E_INVALID_ARGUMENT, "num_channels is 0: pass channels NULL to restore the engine's selection")
            }
            handle.explicitChannels = nil
            return
        }
        let channels = try required(channels, "channels")
        handle.explicitChannels = try engine { () throws(EngineError) in
            try ChannelList(copying: channels, count: numChannels)
        }
    }
}

@c @implementation
public func scorecam_explainer_get_channel_count(_ out: UnsafeMutablePointer<Int>?, _ explainer: OpaquePointer?) -> Int32 {
    let handle = ExplainerHandle.from(explainer)
    return exported(handle) { () throws(ABIError) in
        let out = try required(out, "out")
        out.pointee = try required(handle, "explainer").explicitChannels?.count ?? 0
    }
}
