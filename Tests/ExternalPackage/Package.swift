// swift-tools-version: 6.1
// A package outside enrich that uses the SDK the way a user's would: `EnrichClient` as a dependency, nothing
// else. Scripts/test.sh builds it, so the SDK stays usable from another package, and Scripts/interop.sh runs it
// against a server. Its main.swift is the example in Sources/EnrichClient/README.md (a test holds them equal).
import PackageDescription

let package = Package(
    name: "enrich-sdk-user",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "enrich", path: "../..")],
    targets: [
        .executableTarget(
            name: "sdk-example",
            dependencies: [.product(name: "EnrichClient", package: "enrich")]
        )
    ]
)
