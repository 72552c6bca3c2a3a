// swift-tools-version: 6.1
// A package outside enrich that uses the SDK the way a user's would: `EnrichClient` as a dependency, nothing
// else. Scripts/test.sh builds it, so the SDK stays usable from another package.
import PackageDescription

let package = Package(
    name: "enrich-sdk-user",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "enrich", path: "../..")],
    targets: [
        .executableTarget(
            name: "lookup-example",
            dependencies: [.product(name: "EnrichClient", package: "enrich")]
        )
    ]
)
