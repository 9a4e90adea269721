import _CScoreCAM
import ScoreCAMCore

// Every function of include/scorecam.h, implemented with `@c @implementation` so the compiler
// checks each signature against the header. The bodies only translate: pointers and statuses in,
// engine calls, statuses and messages out.

/// Runs the body of an exported call: on success clears the handle's message, on failure stores it
/// on the handle and the thread and returns the status. Bodies throw only ABIError (engine calls go
/// through `engine`), so every failure has its status without a cast.
func exported(_ handle: ExplainerHandle? = nil, _ body: () throws(ABIError) -> Void) -> Int32 {
    do {
        try body()
        handle?.message.set(nil)
        return SCORECAM_OK.rawValue
    } catch {
        handle?.message.set(error.message)
        ThreadMessage.set(error.message)
        return error.status.rawValue
    }
}

/// Runs an engine call; its EngineError becomes the matching ABIError.
func engine<T>(_ body: () throws(EngineError) -> T) throws(ABIError) -> T {
    do { return try body() } catch { throw ABIError(error) }
}

func required<T>(_ pointer: T?, _ name: String) throws(ABIError) -> T {
    guard let pointer else { throw ABIError(SCORECAM_E_NULL_POINTER, "\(name) is NULL") }
    return pointer
}

/// A size that must be positive: a dimension (SCORECAM_E_SHAPE) or, with `status`, an argument.
private func positive(_ value: Int64, _ name: String,
                      status: scorecam_status = SCORECAM_E_SHAPE) throws(ABIError) -> Int {
    guard value > 0 else { throw ABIError(status, "\(name) must be positive, got \(value)") }
    return Int(value)
}

private func elementCount(_ dims: [Int], _ what: String) throws(ABIError) -> Int {
    try engine { () throws(EngineError) in try Sizes.product(dims, elementSize: MemoryLayout<Float>.stride, what) }
}

/// A size_t count: Swift sees one above INT64_MAX as negative; no such count can be honest.
func countArgument(_ value: Int, _ name: String) throws(ABIError) -> Int {
    guard value >= 0 else {
        throw ABIError(SCORECAM_E_INVALID_ARGUMENT, "\(name) is \(UInt(bitPattern: value)), above INT64_MAX")
    }
    return value
}

/// A size_t capacity: one above INT64_MAX holds more than any request can need.
private func clampedCapacity(_ value: Int) -> Int { value < 0 ? Int.max : value }

/// The registered callbacks as the engine's host, after the checks compute and evaluate share.
/// masksMode: compute's, where a registered masks forward replaces the forward.
private func callbackHost(_ handle: ExplainerHandle, targets: UnsafePointer<Int64>?,
                          numTargets: Int, masksMode: Bool = false) throws(ABIError) -> CallbackHost {
    let masksForward = masksMode ? handle.masksForward : nil
    guard handle.forward != nil || masksForward != nil else {
        throw ABIError(SCORECAM_E_NO_FORWARD, "no forward callback: call scorecam_explainer_set_forward() first")
    }
    guard try countArgument(numTargets, "num_targets") > 0 else {
        throw ABIError(SCORECAM_E_INVALID_ARGUMENT, "num_targets must be at least 1")
    }
    guard handle.scoring != nil || targets != nil else {
        throw ABIError(SCORECAM_E_NULL_POINTER, "targets is NULL and no scoring callback is registered")
    }
    if let masksForward { return CallbackHost(handle, masksForward: masksForward, targets: targets) }
    return CallbackHost(handle, forward: handle.forward!, targets: targets)
}

// MARK: - version and status

@c @implementation
public func scorecam_version_number() -> Int32 {
    ScoreCAMVersion.number
}

@c @implementation
public func scorecam_version_string() -> UnsafePointer<CChar>? {
    ScoreCAMVersion.string
}

@c @implementation
public func scorecam_status_string(_ status: Int32) -> UnsafePointer<CChar>? {
    statusName(status).cString
}

@c @implementation
public func scorecam_last_error() -> UnsafePointer<CChar>? {
    ThreadMessage.current
}

// MARK: - lifetime

@c @implementation
public func scorecam_explainer_create(_ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    exported { () throws(ABIError) in
        let out = try required(out, "out")
        out.pointee = OpaquePointer(Unmanaged.passRetained(ExplainerHandle()).toOpaque())
    }
}

@c @implementation
public func scorecam_explainer_destroy(_ explainer: OpaquePointer?) {
    guard let explainer else { return }
    Unmanaged<ExplainerHandle>.fromOpaque(UnsafeRawPointer(explainer)).release()
}

@c @implementation
public func scorecam_explainer_last_error(_ explainer: OpaquePointer?) -> UnsafePointer<CChar>? {
    ExplainerHandle.from(explainer)?.message.cString ?? StaticString("").cString
}

// MARK: - callbacks

@c @implementation
public func scorecam_explainer_set_forward(_ explainer: OpaquePointer?, _ fn: scorecam_forward_fn?,
                                           _ outputDim: Int64, _ userData: UnsafeMutableRawPointer?) -> Int32 {
    let handle = ExplainerHandle.from(explainer)
    return exported(handle) { () throws(ABIError) in
        let handle = try required(handle, "explainer")
        guard let fn else {
            handle.forward = nil
            return
        }
        handle.forward = (fn, try positive(outputDim, "output_dim", status: SCORECAM_E_INVALID_ARGUMENT), userData)
    }
}

@c @implementation
public func scorecam_explainer_set_masks_forward(_ explainer: OpaquePointer?, _ fn: scorecam_masks_forward_fn?,
                                                 _ outputDim: Int64, _ userData: UnsafeMutableRawPointer?) -> Int32 {
    let handle = ExplainerHandle.from(explainer)
    return exported(handle) { () throws(ABIError) in
        let handle = try required(handle, "explainer")
        guard let fn else {
            handle.masksForward = nil
            return
        }
        handle.masksForward = (fn, try positive(outputDim, "output_dim", status: SCORECAM_E_INVALID_ARGUMENT), userData)
    }
}

@c @implementation
public func scorecam_explainer_set_scoring(_ explainer: OpaquePointer?, _ fn: scorecam_scoring_fn?,
                                           _ userData: UnsafeMutableRawPointer?) -> Int32 {
    let handle = ExplainerHandle.from(explainer)
    return exported(handle) { () throws(ABIError) in
        try required(handle, "explainer").scoring = fn.map { ($0, userData) }
    }
}

@c @implementation
public func scorecam_explainer_set_progress(_ explainer: OpaquePointer?, _ fn: scorecam_progress_fn?,
                                            _ userData: UnsafeMutableRawPointer?) -> Int32 {
    let handle = ExplainerHandle.from(explainer)
    return exported(handle) { () throws(ABIError) in
        try required(handle, "explainer").progress = fn.map { ($0, userData) }
    }
}

// MARK: - parameters

@c @implementation
public func scorecam_explainer_set_param(_ explainer: OpaquePointer?, _ param: Int32, _ value: Double) -> Int32 {
    let handle = ExplainerHandle.from(explainer)
    return exported(handle) { () throws(ABIError) in
        try required(handle, "explainer").parameters.set(param, value)
    }
}

@c @implementation
public func scorecam_explainer_get_param(_ out: UnsafeMutablePointer<Double>?, _ explainer: OpaquePointer?,
                                         _ param: Int32) -> Int32 {
    let handle = ExplainerHandle.from(explainer)
    return exported(handle) { () throws(ABIError) in
        let out = try required(out, "out")
        out.pointee = try required(handle, "explainer").parameters.get(param)
    }
}

@c @implementation
public func scorecam_param_count() -> Int {
    Parameters.table.count
}

@c @implementation
public func scorecam_param_info(_ param: UnsafeMutablePointer<Int32>?, _ name: UnsafeMutablePointer<UnsafePointer<CChar>?>?,
                                _ kind: UnsafeMutablePointer<Int32>?, _ min: UnsafeMutablePointer<Double>?,
                                _ max: UnsafeMutablePointer<Double>?, _ defaultValue: UnsafeMutablePointer<Double>?,
                                _ index: Int) -> Int32 {
    exported { () throws(ABIError) in
        guard index >= 0, index < Parameters.table.count else {
            throw ABIError(SCORECAM_E_INVALID_ARGUMENT, "parameter index \(UInt(bitPattern: index)) is outside 0..<\(Parameters.table.count)")
        }
        let info = Parameters.table[index]
        param?.pointee = Int32(info.id)
        name?.pointee = Parameters.cNames[index]
        kind?.pointee = Int32(info.kind.rawValue)
        min?.pointee = info.minimum
        max?.pointee = info.maximum
        defaultValue?.pointee = info.defaultValue
    }
}

@c @implementation
public func scorecam_explainer_set_preset(_ explainer: OpaquePointer?, _ name: UnsafePointer<CChar>?) -> Int32 {
    let handle = ExplainerHandle.from(explainer)
    return exported(handle) { () throws(ABIError) in
        let handle = try required(handle, "explainer")
        let name = String(cString: try required(name, "name"))
        guard handle.parameters.applyPreset(name) else {
            throw ABIError(SCORECAM_E_INVALID_ARGUMENT,
                           "unknown preset \"\(name)\"; known: \(Parameters.presetNames.joined(separator: ", "))")
        }
    }
}

@c @implementation
public func scorecam_explainer_get_map_size(_ mapH: UnsafeMutablePointer<Int64>?, _ mapW: UnsafeMutablePointer<Int64>?,
                                            _ explainer: OpaquePointer?, _ h: Int64, _ w: Int64,
                                            _ ah: Int64, _ aw: Int64) -> Int32 {
    let handle = ExplainerHandle.from(explainer)
    return exported(handle) { () throws(ABIError) in
        let (mapH, mapW) = (try required(mapH, "map_h"), try required(mapW, "map_w"))
        // Only the pair the maps take is checked: the other may be anything.
        let chosen = try required(handle, "explainer").parameters.mapSize(
            input: [(h, "h"), (w, "w")], activations: [(ah, "ah"), (aw, "aw")])
        let size = try chosen.map { (value, name) throws(ABIError) in try positive(value, name) }
        mapH.pointee = Int64(size[0])
        mapW.pointee = Int64(size[1])
    }
}

// MARK: - compute

@c @implementation
public func scorecam_explainer_compute(
    _ maps: UnsafeMutablePointer<Float>?, _ mapsCapacity: Int, _ explainer: OpaquePointer?,
    _ input: UnsafePointer<Float>?, _ b: Int64, _ c: Int64, _ h: Int64, _ w: Int64,
    _ activations: UnsafePointer<Float>?, _ k: Int64, _ ah: Int64, _ aw: Int64,
    _ targets: UnsafePointer<Int64>?, _ numTargets: Int
) -> Int32 {
    compute(maps, mapsCapacity, explainer, input, b, c, h, w, activations, k, ah, aw, targets, numTargets,
            perImage: false)
}

@c @implementation
public func scorecam_explainer_compute_per_image(
    _ maps: UnsafeMutablePointer<Float>?, _ mapsCapacity: Int, _ explainer: OpaquePointer?,
    _ input: UnsafePointer<Float>?, _ b: Int64, _ c: Int64, _ h: Int64, _ w: Int64,
    _ activations: UnsafePointer<Float>?, _ k: Int64, _ ah: Int64, _ aw: Int64,
    _ targets: UnsafePointer<Int64>?, _ targetsPerImage: Int
) -> Int32 {
    compute(maps, mapsCapacity, explainer, input, b, c, h, w, activations, k, ah, aw, targets, targetsPerImage,
            perImage: true)
}

/// compute and compute_per_image: targets holds num_targets values, or b x num_targets (perImage).
private func compute(
    _ maps: UnsafeMutablePointer<Float>?, _ mapsCapacity: Int, _ explainer: OpaquePointer?,
    _ input: UnsafePointer<Float>?, _ b: Int64, _ c: Int64, _ h: Int64, _ w: Int64,
    _ activations: UnsafePointer<Float>?, _ k: Int64, _ ah: Int64, _ aw: Int64,
    _ targets: UnsafePointer<Int64>?, _ numTargets: Int, perImage: Bool
) -> Int32 {
    let handle = ExplainerHandle.from(explainer)
    return exported(handle) { () throws(ABIError) in
        let handle = try required(handle, "explainer")
        handle.details = nil
        let maps = try required(maps, "maps")
        let input = try required(input, "input")
        let activations = try required(activations, "activations")
        if perImage { _ = try required(targets, "targets") }
        let host = try callbackHost(handle, targets: targets, numTargets: numTargets, masksMode: true)
        let (b, c, h, w) = (try positive(b, "b"), try positive(c, "c"), try positive(h, "h"), try positive(w, "w"))
        let (k, ah, aw) = (try positive(k, "k"), try positive(ah, "ah"), try positive(aw, "aw"))
        _ = try elementCount([b, c, h, w], "the input")
        _ = try elementCount([b, k, ah, aw], "the activations")
        let mapSize = handle.parameters.mapSize(input: (h, w), activations: (ah, aw))
        let mapsNeeded = try elementCount([b, numTargets, mapSize.0, mapSize.1], "the maps")
        // Before the targets are read: num_targets may be what overflows the maps buffer.
        guard clampedCapacity(mapsCapacity) >= mapsNeeded else {
            throw ABIError(SCORECAM_E_BUFFER_TOO_SMALL, "the maps buffer holds \(mapsCapacity) floats but \(mapsNeeded) are needed (\(b) images x \(numTargets) targets x \(mapSize.0) x \(mapSize.1))")
        }

        var run = ExplanationRun(
            parameters: handle.parameters,
            input: TensorView(input, b, c, h, w),
            activations: TensorView(activations, b, k, ah, aw),
            targets: try targetValues(targets, count: perImage ? b * numTargets : numTargets),
            numTargets: numTargets)
        run.targetsPerImage = perImage
        run.batchBuffers = handle.batchBuffers
        if let list = handle.explicitChannels {
            run.explicitChannels = try engine { () throws(EngineError) in try list.channels(below: k) }
        }
        let images = try engine { () throws(EngineError) in
            try run.run(host: host, maps: maps, mapsCapacity: clampedCapacity(mapsCapacity))
        }
        handle.details = (images, numTargets)
    }
}

/// The targets array as the engine takes it (none: a scoring callback's, given NULL).
private func targetValues(_ targets: UnsafePointer<Int64>?, count: Int) throws(ABIError) -> [Int] {
    guard let targets else { return [] }
    return (0..<count).map { Int(targets[$0]) }
}

// MARK: - details

private func details(_ handle: ExplainerHandle?, _ image: Int64) throws(ABIError) -> (ImageDetails, Int) {
    guard let details = try required(handle, "explainer").details else {
        throw ABIError(SCORECAM_E_NO_RESULT, "no details: the last compute did not succeed or none ran yet")
    }
    guard image >= 0, image < details.images.count else {
        throw ABIError(SCORECAM_E_INVALID_ARGUMENT, "image \(image) is outside the \(details.images.count) images of the last compute")
    }
    return (details.images[Int(image)], details.numTargets)
}

@c @implementation
public func scorecam_explainer_get_detail_counts(_ numChannels: UnsafeMutablePointer<Int>?,
                                                 _ numTargets: UnsafeMutablePointer<Int>?,
                                                 _ explainer: OpaquePointer?, _ image: Int64) -> Int32 {
    let handle = ExplainerHandle.from(explainer)
    return exported(handle) { () throws(ABIError) in
        let (numChannels, numTargets) = (try required(numChannels, "num_channels"), try required(numTargets, "num_targets"))
        let (image, targets) = try details(handle, image)
        numChannels.pointee = image.channels.count
        numTargets.pointee = targets
    }
}

@c @implementation
public func scorecam_explainer_get_details(
    _ channels: UnsafeMutablePointer<Int64>?, _ scores: UnsafeMutablePointer<Float>?,
    _ weights: UnsafeMutablePointer<Float>?, _ baseScores: UnsafeMutablePointer<Float>?,
    _ capacity: Int, _ explainer: OpaquePointer?, _ image: Int64
) -> Int32 {
    let handle = ExplainerHandle.from(explainer)
    return exported(handle) { () throws(ABIError) in
        let (image, _) = try details(handle, image)
        let capacity = clampedCapacity(capacity)
        guard capacity >= image.channels.count else {
            throw ABIError(SCORECAM_E_BUFFER_TOO_SMALL, "capacity \(capacity) is below the \(image.channels.count) channels used")
        }
        for (i, channel) in image.channels.enumerated() { channels?[i] = Int64(channel) }
        for (i, value) in image.scores.enumerated() { scores?[i] = value }
        for (i, value) in image.weights.enumerated() { weights?[i] = value }
        for (i, value) in image.baseScores.enumerated() { baseScores?[i] = value }
    }
}

// MARK: - masks

@c @implementation
public func scorecam_explainer_make_masks(
    _ out: UnsafeMutablePointer<Float>?, _ capacity: Int, _ explainer: OpaquePointer?,
    _ input: UnsafePointer<Float>?, _ c: Int64, _ h: Int64, _ w: Int64,
    _ activations: UnsafePointer<Float>?, _ k: Int64, _ ah: Int64, _ aw: Int64,
    _ channels: UnsafePointer<Int64>?, _ numChannels: Int
) -> Int32 {
    let handle = ExplainerHandle.from(explainer)
    return exported(handle) { () throws(ABIError) in
        let handle = try required(handle, "explainer")
        let out = try required(out, "out")
        let activations = try required(activations, "activations")
        let channels = try required(channels, "channels")
        let (h, w) = (try positive(h, "h"), try positive(w, "w"))
        let (k, ah, aw) = (try positive(k, "k"), try positive(ah, "ah"), try positive(aw, "aw"))
        let c = input == nil ? 1 : try positive(c, "c")
        _ = try elementCount([k, ah, aw], "the activations")
        let numChannels = try countArgument(numChannels, "num_channels")
        _ = try elementCount([c, h, w], input == nil ? "one mask" : "the input")
        let needed = try elementCount([numChannels, c, h, w], "the masks")
        guard clampedCapacity(capacity) >= needed else {
            throw ABIError(SCORECAM_E_BUFFER_TOO_SMALL, "out holds \(capacity) floats but \(needed) are needed")
        }
        try engine { () throws(EngineError) in
            try renderMasks(
                parameters: handle.parameters, input: input.map { TensorView($0, 1, c, h, w) }, size: (h, w),
                activations: TensorView(activations, 1, k, ah, aw),
                channels: (0..<numChannels).map { Int(channels[$0]) }, into: out)
        }
    }
}

// MARK: - metrics

@c @implementation
public func scorecam_explainer_evaluate(
    _ values: UnsafeMutablePointer<Double>?, _ capacity: Int, _ explainer: OpaquePointer?, _ metric: Int32,
    _ input: UnsafePointer<Float>?, _ b: Int64, _ c: Int64, _ h: Int64, _ w: Int64,
    _ maps: UnsafePointer<Float>?, _ mapH: Int64, _ mapW: Int64,
    _ targets: UnsafePointer<Int64>?, _ numTargets: Int
) -> Int32 {
    evaluate(values, capacity, explainer, metric, input, b, c, h, w, maps, mapH, mapW, targets, numTargets,
             perImage: false)
}

@c @implementation
public func scorecam_explainer_evaluate_per_image(
    _ values: UnsafeMutablePointer<Double>?, _ capacity: Int, _ explainer: OpaquePointer?, _ metric: Int32,
    _ input: UnsafePointer<Float>?, _ b: Int64, _ c: Int64, _ h: Int64, _ w: Int64,
    _ maps: UnsafePointer<Float>?, _ mapH: Int64, _ mapW: Int64,
    _ targets: UnsafePointer<Int64>?, _ targetsPerImage: Int
) -> Int32 {
    evaluate(values, capacity, explainer, metric, input, b, c, h, w, maps, mapH, mapW, targets, targetsPerImage,
             perImage: true)
}

/// evaluate and evaluate_per_image: targets holds num_targets values, or b x num_targets (perImage).
private func evaluate(
    _ values: UnsafeMutablePointer<Double>?, _ capacity: Int, _ explainer: OpaquePointer?, _ metric: Int32,
    _ input: UnsafePointer<Float>?, _ b: Int64, _ c: Int64, _ h: Int64, _ w: Int64,
    _ maps: UnsafePointer<Float>?, _ mapH: Int64, _ mapW: Int64,
    _ targets: UnsafePointer<Int64>?, _ numTargets: Int, perImage: Bool
) -> Int32 {
    let handle = ExplainerHandle.from(explainer)
    return exported(handle) { () throws(ABIError) in
        let handle = try required(handle, "explainer")
        let values = try required(values, "values")
        let input = try required(input, "input")
        let maps = try required(maps, "maps")
        if perImage { _ = try required(targets, "targets") }
        let host = try callbackHost(handle, targets: targets, numTargets: numTargets)
        guard let metric = Metric(rawValue: Int(metric)) else {
            throw ABIError(SCORECAM_E_INVALID_ARGUMENT, "unknown metric \(metric)")
        }
        let (b, c, h, w) = (try positive(b, "b"), try positive(c, "c"), try positive(h, "h"), try positive(w, "w"))
        let (mapH, mapW) = (try positive(mapH, "map_h"), try positive(mapW, "map_w"))
        _ = try elementCount([b, c, h, w], "the input")
        _ = try elementCount([b, numTargets, mapH, mapW], "the maps")
        let needed = try elementCount([b, numTargets], "the values")
        guard clampedCapacity(capacity) >= needed else {
            throw ABIError(SCORECAM_E_BUFFER_TOO_SMALL, "values holds \(capacity) doubles but \(needed) are needed")
        }
        var evaluation = Evaluation(
            parameters: handle.parameters, input: TensorView(input, b, c, h, w),
            maps: TensorView(maps, b, numTargets, mapH, mapW),
            targets: try targetValues(targets, count: perImage ? b * numTargets : numTargets))
        evaluation.targetsPerImage = perImage
        let result = try engine { () throws(EngineError) in try evaluation.run(metric, host: host) }
        for (i, value) in result.enumerated() { values[i] = value }
    }
}
