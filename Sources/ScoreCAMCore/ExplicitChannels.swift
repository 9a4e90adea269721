/// Channels a host chose itself (e.g. ranked with its own framework's sort, as the seed's CSKIP
/// does with torch.argsort): the plan of every image is exactly this list, in this order.
///
/// - Throws: `.invalidArgument` for an index outside the K channels of the activations or a
///   repeated index, `.degenerate` when every listed channel of an image is constant.
func explicitChannelPlan(_ channels: [Int], activations: TensorView, image: Int) throws(EngineError) -> [Int] {
    let k = activations.c
    guard !channels.isEmpty else { throw EngineError(.invalidArgument, "the explicit channel list is empty") }
    var seen = Set<Int>()
    for channel in channels {
        guard channel >= 0, channel < k else {
            throw EngineError(.invalidArgument, "explicit channel \(channel) is outside the \(k) channels of the activations")
        }
        guard seen.insert(channel).inserted else {
            throw EngineError(.invalidArgument, "explicit channel \(channel) is listed twice")
        }
    }
    let statistics = ChannelStatistics(activations, image: image, needStd: false)
    guard channels.contains(where: { !statistics.isConstant($0) }) else {
        throw EngineError(.degenerate,
                          "image \(image): every explicit channel of the activations is constant (max == min), so no mask carries information")
    }
    return channels
}
