// swift-tools-version:6.1
import PackageDescription

// libscorecam.so: the C ABI (include/scorecam.h) over a pure-Swift engine.
// Only scorecam_* symbols are exported (exports.map); the Makefile adds -static-stdlib so the
// library needs no Swift runtime on the user's machine.
let package = Package(
    name: "scorecam",
    products: [
        // Swift users: `import ScoreCAM` (safe types, typed throws, closures).
        .library(name: "ScoreCAM", targets: ["ScoreCAM"]),
        // Everyone else: libscorecam.so behind include/scorecam.h. SwiftPM builds it as
        // libScoreCAMABI.so; the Makefile installs it under the library's own name and soname.
        .library(name: "ScoreCAMABI", type: .dynamic, targets: ["ScoreCAMABI"]),
    ],
    targets: [
        // Exposes include/scorecam.h to Swift (the header is a symlink to the public one).
        .target(name: "_CScoreCAM"),
        // Pure Swift engine: no C types, no callbacks, no global state.
        .target(name: "ScoreCAMCore"),
        // The Swift API over the engine: no raw pointers, no unsafe flags.
        .target(name: "ScoreCAM", dependencies: ["ScoreCAMCore"]),
        // Thin ABI layer: exported functions, handles, statuses, callback adapters.
        .target(
            name: "ScoreCAMABI",
            dependencies: ["_CScoreCAM", "ScoreCAMCore"],
            exclude: ["exports.map"],  // read by the linker, not compiled
            linkerSettings: [
                .unsafeFlags([
                    "-Xlinker", "--version-script=\(Context.packageDirectory)/Sources/ScoreCAMABI/exports.map",
                    "-Xlinker", "-soname=libscorecam.so.0",
                ]),
            ]
        ),
        .testTarget(
            name: "ScoreCAMCoreTests",
            dependencies: ["ScoreCAMCore"],
            // Read from the source tree by path; generate_fixtures.py rewrites them.
            exclude: ["Fixtures"]
        ),
        // The Swift API as its users see it: `import ScoreCAM`, no @testable.
        .testTarget(name: "ScoreCAMTests", dependencies: ["ScoreCAM"]),
    ]
)
