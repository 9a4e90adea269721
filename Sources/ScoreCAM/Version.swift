/// Must equal SCORECAM_VERSION_* in include/scorecam.h (a C test checks both agree).
enum ScoreCAMVersion {
    static let major = 0
    static let minor = 1
    static let patch = 0
    static let string: StaticString = "0.1.0"
}
