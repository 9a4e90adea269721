/// What values a parameter takes.
package enum ParameterKind: Int, Sendable {
    /// A whole number in [minimum, maximum].
    case integer = 0
    /// 0 or 1.
    case boolean = 1
    /// A whole number naming an enum case, in [minimum, maximum].
    case choice = 2
    /// Any finite number in [minimum, maximum].
    case real = 3
}

/// One row of the parameter table: the single description of a parameter (its number, name, kind,
/// range and default) that the C ABI's set/get, its query calls and the core's validation all use.
package struct ParameterInfo: Sendable {
    /// The number of SCORECAM_PARAM_<name> (fixed forever).
    package let id: Int
    /// The name without the SCORECAM_PARAM_ prefix, e.g. "BATCH_SIZE".
    package let name: String
    package let kind: ParameterKind
    package let minimum: Double
    package let maximum: Double
    let read: @Sendable (Parameters) -> Double
    let write: @Sendable (inout Parameters, Double) -> Void

    /// The value of a fresh `Parameters()` (the "seed" preset).
    package var defaultValue: Double { read(Parameters()) }

    /// Throws `.invalidArgument` unless `value` is one this parameter takes.
    package func check(_ value: Double) throws(EngineError) {
        let name = "SCORECAM_PARAM_\(self.name)"
        guard value.isFinite else { throw EngineError(.invalidArgument, "\(name): \(value) is not finite") }
        guard kind == .real || value.rounded() == value else {
            throw EngineError(.invalidArgument, "\(name): \(formatted(value)) is not a whole number")
        }
        guard value >= minimum, value <= maximum else {
            throw EngineError(.invalidArgument, "\(name): \(formatted(value)) is outside \(formatted(minimum))...\(formatted(maximum))")
        }
    }
}

/// Whole numbers without ".0" (exactly, whatever their size), others as Swift prints doubles.
func formatted(_ value: Double) -> String {
    value.rounded() == value && value.magnitude < 1e18 ? String(Int64(value)) : "\(value)"
}

private func integer(_ id: Int, _ name: String, _ range: ClosedRange<Int>,
                     _ key: WritableKeyPath<Parameters, Int> & Sendable) -> ParameterInfo {
    ParameterInfo(id: id, name: name, kind: .integer, minimum: Double(range.lowerBound), maximum: Double(range.upperBound),
                  read: { Double($0[keyPath: key]) }, write: { $0[keyPath: key] = Int($1) })
}

private func boolean(_ id: Int, _ name: String, _ key: WritableKeyPath<Parameters, Bool> & Sendable) -> ParameterInfo {
    ParameterInfo(id: id, name: name, kind: .boolean, minimum: 0, maximum: 1,
                  read: { $0[keyPath: key] ? 1 : 0 }, write: { $0[keyPath: key] = $1 == 1 })
}

private func choice<E: RawRepresentable & CaseIterable & Sendable>(
    _ id: Int, _ name: String, _ key: WritableKeyPath<Parameters, E> & Sendable) -> ParameterInfo where E.RawValue == Int {
    ParameterInfo(id: id, name: name, kind: .choice, minimum: 0, maximum: Double(E.allCases.count - 1),
                  read: { Double($0[keyPath: key].rawValue) }, write: { $0[keyPath: key] = E(rawValue: Int($1))! })
}

private func real(_ id: Int, _ name: String, _ range: ClosedRange<Double>,
                  _ key: WritableKeyPath<Parameters, Double> & Sendable) -> ParameterInfo {
    ParameterInfo(id: id, name: name, kind: .real, minimum: range.lowerBound, maximum: range.upperBound,
                  read: { $0[keyPath: key] }, write: { $0[keyPath: key] = $1 })
}

private func real32(_ id: Int, _ name: String, _ range: ClosedRange<Double>,
                    _ key: WritableKeyPath<Parameters, Float> & Sendable) -> ParameterInfo {
    ParameterInfo(id: id, name: name, kind: .real, minimum: range.lowerBound, maximum: range.upperBound,
                  read: { Double($0[keyPath: key]) }, write: { $0[keyPath: key] = Float($1) })
}

/// Counts that size work or buffers stop at 2^30; a float32 value at float32's range.
private let countLimit = 1 << 30
private let anyDouble = 0...Double.greatestFiniteMagnitude
private let anyFloat = -Double(Float.greatestFiniteMagnitude)...Double(Float.greatestFiniteMagnitude)

extension Parameters {
    /// Every parameter, once, in the order of their numbers.
    package static let table: [ParameterInfo] = [
        integer(1, "BATCH_SIZE", 1...countLimit, \.batchSize),
        choice(2, "UPSAMPLE", \.upsample),
        choice(3, "SELECTION", \.selection),
        integer(4, "SELECTION_COUNT", 1...countLimit, \.selectionCount),
        boolean(5, "SKIP_CONSTANT", \.skipConstant),
        real(6, "NORM_EPS", anyDouble, \.normEps),
        choice(7, "WEIGHTING", \.weighting),
        boolean(8, "SUBTRACT_BASE", \.subtractBase),
        choice(9, "SCORE", \.score),
        real32(10, "BASELINE", anyFloat, \.baseline),
        boolean(11, "NORMALIZE_MAP", \.normalizeMap),
        integer(12, "THREADS", 0...1024, \.threads),
        boolean(13, "NORMALIZE_MASK_FIRST", \.normalizeMaskFirst),
        boolean(14, "RELU_BEFORE_UPSAMPLING", \.reluBeforeUpsampling),
        // -1 = as the masks (nil), else an UpsampleMode.
        ParameterInfo(id: 15, name: "MAP_UPSAMPLE", kind: .choice, minimum: -1, maximum: Double(UpsampleMode.allCases.count - 1),
                      read: { Double($0.mapUpsample?.rawValue ?? -1) },
                      write: { $0.mapUpsample = $1 < 0 ? nil : UpsampleMode(rawValue: Int($1)) }),
        boolean(16, "MAP_AT_ACTIVATION_SIZE", \.mapAtActivationSize),
        boolean(17, "NORMALIZE_LOW_MAP", \.normalizeLowMap),
        real(18, "MAP_EPS", anyDouble, \.mapEps),
        choice(19, "METHOD", \.method),
        integer(20, "SAMPLES", 0...(1 << 20), \.samples),
        real(21, "NOISE_STD", 0...Double(Float.greatestFiniteMagnitude), \.noiseStd),
        ParameterInfo(id: 22, name: "SEED", kind: .integer, minimum: 0, maximum: Double(1 << 53),
                      read: { Double($0.seed) }, write: { $0.seed = UInt64($1) }),
        real(23, "ADAPTIVE_TOLERANCE", anyDouble, \.adaptiveTolerance),
        integer(24, "ADAPTIVE_STEP", 1...countLimit, \.adaptiveStep),
        choice(25, "METRIC_SCORE", \.metricScore),
        integer(26, "METRIC_STEPS", 1...countLimit, \.metricSteps),
        real32(27, "METRIC_BASELINE", anyFloat, \.metricBaseline),
        integer(28, "BATCH_MEMORY", 1...(1 << 53), \.batchMemory),
    ]

    /// The table row of parameter number `id`.
    package static func info(_ id: Int) -> ParameterInfo? {
        table.first { $0.id == id }
    }

    private static func row(_ id: Int) throws(EngineError) -> ParameterInfo {
        guard let info = info(id) else { throw EngineError(.invalidArgument, "unknown parameter \(id)") }
        return info
    }

    /// Sets parameter number `id`; on error nothing changes.
    package mutating func set(_ id: Int, _ value: Double) throws(EngineError) {
        let info = try Self.row(id)
        try info.check(value)
        info.write(&self, value)
    }

    /// The value of parameter number `id`.
    package func value(_ id: Int) throws(EngineError) -> Double {
        try Self.row(id).read(self)
    }

    /// Throws `.invalidArgument` naming the first parameter outside its range: every entry point
    /// (the C ABI, a Swift caller setting fields directly) gets the same errors.
    package func validate() throws(EngineError) {
        for info in Self.table { try info.check(info.read(self)) }
    }
}
