// swift-tools-version:6.1
import PackageDescription

// A Swift program that uses scorecam as a package dependency (here by path; from elsewhere:
// .package(url: "<the scorecam repository>", from: "0.1.0")).
let package = Package(
    name: "explain-blob",
    dependencies: [.package(name: "scorecam", path: "../..")],
    targets: [
        .executableTarget(name: "ExplainBlob", dependencies: [.product(name: "ScoreCAM", package: "scorecam")]),
    ]
)
