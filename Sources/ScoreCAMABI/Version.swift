import _CScoreCAM

/// The version comes from include/scorecam.h alone (SCORECAM_VERSION_*), the project's one source:
/// the Makefile, the Python package and the C++ wrapper read the same macros.
enum ScoreCAMVersion {
    static let major = Int(SCORECAM_VERSION_MAJOR)
    static let minor = Int(SCORECAM_VERSION_MINOR)
    static let patch = Int(SCORECAM_VERSION_PATCH)
    static let number = Int32(major * 10000 + minor * 100 + patch)
    /// "MAJOR.MINOR.PATCH", built once and never freed (the ABI promises static storage).
    nonisolated(unsafe) static let string: UnsafePointer<CChar> = {
        let text = "\(major).\(minor).\(patch)"
        let bytes = Array(text.utf8CString)
        let storage = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count)
        storage.initialize(from: bytes, count: bytes.count)
        return UnsafePointer(storage)
    }()
}
