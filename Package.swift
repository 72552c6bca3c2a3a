// swift-tools-version: 6.1
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

/// The allocation-count tests must measure the code that ships: unoptimized generic code allocates where the
/// optimized build does not (iterating an array, for one). With ENRICH_OPTIMIZE_HOT_PATHS=1 in the environment
/// (Scripts/test.sh and .ci/run set it) the request hot path (decode, cache lookup, encode) is compiled `-O` even in
/// debug builds, and the allocation tests run; without it nothing uses unsafe flags, so the SDK (`EnrichClient`)
/// can be a versioned dependency of another package, and the allocation tests say they need the switch (or
/// `-c release`).
let optimizeHotPaths = Context.environment["ENRICH_OPTIMIZE_HOT_PATHS"] == "1"
let hotPathSettings: [SwiftSetting] = strictSettings + (optimizeHotPaths ? [.unsafeFlags(["-O"])] : [])
let allocationTestSettings: [SwiftSetting] =
    strictSettings + [.define("HOT_PATHS_OPTIMIZED", .when(configuration: .release))]
    + (optimizeHotPaths ? [.define("HOT_PATHS_OPTIMIZED")] : [])

let nio: [Target.Dependency] = [
    .product(name: "NIOCore", package: "swift-nio"),
    .product(name: "NIOPosix", package: "swift-nio"),
]
let log: Target.Dependency = .product(name: "Logging", package: "swift-log")
let grdb: Target.Dependency = .product(name: "GRDB", package: "GRDB.swift")
let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")
let metrics: Target.Dependency = .product(name: "CoreMetrics", package: "swift-metrics")

let package = Package(
    name: "enrich",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "enrichd", targets: ["enrichd"]),
        .executable(name: "enrichctl", targets: ["enrichctl"]),
        .executable(name: "enrich-load", targets: ["enrich-load"]),
        .executable(name: "mapping-bench", targets: ["mapping-bench"]),
        .executable(name: "sync-bench", targets: ["sync-bench"]),
        .executable(name: "enrich-fuzz", targets: ["enrich-fuzz"]),
        .library(name: "EnrichClient", targets: ["EnrichClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        // Metrics: swift-metrics is the facade the libraries record through; swift-prometheus renders them in
        // Prometheus's text format for /metrics. Both are small and standard on the server side of Swift.
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        // Deque for the call layer's queues; swift-nio already builds it, so it costs nothing extra.
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        // The configuration file's TOML (issue 16): a full TOML parser with line and column in its errors.
        .package(url: "https://github.com/LebJe/TOMLKit", exact: "0.6.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // MARK: - C modules
        .target(
            name: "CProtos",
            path: "Sources/CProtos",
            linkerSettings: [.linkedLibrary("protobuf-c")]
        ),
        // A bounded walk over protobuf wire bytes, driven by protobuf-c's descriptors, before protobuf-c unpacks.
        .target(name: "CProtoWire", linkerSettings: [.linkedLibrary("protobuf-c")]),
        // __builtin_prefetch for the lookup pipeline.
        .target(name: "CPrefetch"),
        .target(
            name: "COpenSSLShims",
            linkerSettings: [.linkedLibrary("ssl"), .linkedLibrary("crypto")]
        ),
        // libpq rather than postgres-nio: warehouse scans are blocking by design (they run on their own thread,
        // off the event loops), libpq's COPY streaming fits that directly, and it costs no build time.
        .systemLibrary(name: "CLibPQ", path: "Sources/CLibPQ", providers: [.apt(["libpq-dev"])]),

        // SHA-256, AES-256-GCM and the CSPRNG from the system's libcrypto (already linked for TLS).
        .target(name: "SystemCrypto", dependencies: ["COpenSSLShims"], swiftSettings: strictSettings),

        // MARK: - RPC
        // Every limit, in one file (Sources/EnrichPolicy/Policy.swift); imports nothing.
        .target(name: "EnrichPolicy", swiftSettings: strictSettings),
        .target(name: "RPCCore", dependencies: ["EnrichPolicy"], swiftSettings: strictSettings),
        .target(
            name: "RPCMessages", dependencies: ["RPCCore", "CProtos", "CProtoWire"], swiftSettings: hotPathSettings),
        // The call layer: admission, authentication, cost classes, deadlines, backpressure, draining. No NIO.
        .target(
            name: "RPCCall",
            dependencies: ["RPCCore", "RPCMessages", log, .product(name: "DequeModule", package: "swift-collections")],
            swiftSettings: hotPathSettings
        ),
        .target(
            name: "RPCTransport",
            dependencies: [
                "RPCCore", "RPCMessages", "RPCCall", "COpenSSLShims", log, metrics,
                .product(name: "DequeModule", package: "swift-collections"),
            ] + nio,
            swiftSettings: strictSettings
        ),

        // MARK: - Domain
        .target(name: "EventJSON", dependencies: ["EnrichPolicy"], swiftSettings: hotPathSettings),
        .target(name: "Mapping", dependencies: ["EventJSON", "EnrichPolicy"], swiftSettings: hotPathSettings),
        .target(
            name: "ModelCache", dependencies: ["EventJSON", "EnrichPolicy", "CPrefetch"], swiftSettings: hotPathSettings
        ),
        // Events in, enriched bytes out: destination plans, the tape-first engine, cells as JSON. Pure: no RPC,
        // no catalog.
        .target(
            name: "Enrichment", dependencies: ["Mapping", "ModelCache", "EventJSON", "EnrichPolicy", "CPrefetch"],
            swiftSettings: hotPathSettings),
        .target(name: "Catalog", dependencies: [grdb], swiftSettings: strictSettings),
        .target(
            name: "Warehouses",
            dependencies: [
                "ModelCache", "EnrichPolicy", "CLibPQ", .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SyncEngine",
            dependencies: ["Catalog", "Warehouses", "ModelCache", "EnrichPolicy", log, metrics],
            swiftSettings: strictSettings
        ),

        // MARK: - Services and server
        .target(
            name: "Services",
            dependencies: [
                "RPCCore", "RPCMessages", "RPCCall", "Catalog", "ModelCache", "SyncEngine", "EventJSON", "Mapping",
                "Enrichment",
                "Warehouses", "SystemCrypto", log, metrics,
            ],
            swiftSettings: hotPathSettings
        ),
        .target(
            name: "EnrichServer",
            dependencies: [
                "Services", "RPCTransport", "RPCCore", "ModelCache", "Catalog", "SyncEngine", "Warehouses",
                "SystemCrypto", log, metrics,
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "TOMLKit", package: "TOMLKit"),
            ] + nio,
            swiftSettings: strictSettings
        ),
        .target(
            name: "EnrichClient",
            dependencies: ["RPCCore", "RPCMessages", "RPCTransport", log] + nio,
            exclude: ["README.md"],
            swiftSettings: strictSettings
        ),

        // MARK: - Executables (argument parsing only)
        // What enrichctl and enrich-load share: connection flags, environment and profiles resolved the same way,
        // and failures printed once as a plain line with a sysexits code (ClientProblem).
        .target(
            name: "ClientCommandLine",
            dependencies: ["EnrichClient", "EventJSON", argumentParser, log],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "enrichd",
            dependencies: [
                "EnrichServer", "Services", "Warehouses", "SyncEngine", "RPCCore", "SystemCrypto", argumentParser, log,
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "enrichctl",
            dependencies: ["ClientCommandLine", "EnrichClient", "EventJSON", "ModelCache", argumentParser],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "enrich-load",
            dependencies: [
                "ClientCommandLine", "EnrichClient", "RPCTransport", argumentParser,
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: strictSettings
        ),

        .executableTarget(
            name: "mapping-bench",
            dependencies: ["Mapping", "ModelCache", "EventJSON"],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "sync-bench",
            dependencies: [
                "SyncEngine", "Warehouses", "Catalog", "ModelCache", argumentParser, log,
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            swiftSettings: strictSettings
        ),

        // The fuzz targets: a libFuzzer binary when built by Scripts/fuzz.sh (-sanitize=fuzzer -D FUZZING), a
        // replayer of saved inputs otherwise.
        .executableTarget(
            name: "enrich-fuzz",
            dependencies: [
                "RPCTransport", "RPCMessages", "RPCCall", "RPCCore", "InProcessTransport", "EventJSON", "Mapping",
                "ModelCache", "Services",
                "Catalog", "SyncEngine", log, .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Tests/Fuzz",
            exclude: ["corpus", "regressions", "envelope.lsan.supp"],
            swiftSettings: strictSettings
        ),

        // MARK: - Tests
        // The call layer without sockets (no async code: the fuzz binary links it, see Tests/Fuzz).
        .target(
            name: "InProcessTransport",
            dependencies: ["RPCCall", "RPCCore", "RPCMessages", log],
            path: "Tests/InProcessTransport",
            swiftSettings: strictSettings
        ),
        .target(
            name: "RPCTesting",
            dependencies: ["RPCTransport", "RPCCore", "RPCMessages", "RPCCall", "InProcessTransport", log] + nio,
            path: "Tests/RPCTesting",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "RPCTransportTests",
            dependencies: [
                "RPCTransport", "RPCTesting", "RPCCore", "RPCCall", "RPCMessages",
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ] + nio,
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "RPCCallTests", dependencies: ["RPCCall", "RPCCore", "RPCMessages", "RPCTesting"],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "RPCMessagesTests", dependencies: ["RPCMessages", "RPCCore"], swiftSettings: strictSettings),
        .testTarget(name: "EventJSONTests", dependencies: ["EventJSON"], swiftSettings: strictSettings),
        // Seeded random events and Segment's vectors, for the differential tests.
        .target(
            name: "EventGenerators", dependencies: ["EventJSON", "RPCTesting"], path: "Tests/EventGenerators",
            swiftSettings: strictSettings),
        .testTarget(
            name: "MappingTests",
            dependencies: ["Mapping", "EventJSON", "EventGenerators", "EnrichPolicy", "RPCTesting"],
            swiftSettings: strictSettings),
        .testTarget(name: "ModelCacheTests", dependencies: ["ModelCache"], swiftSettings: strictSettings),
        .testTarget(
            name: "CatalogTests", dependencies: ["Catalog", "RPCTesting", "SystemCrypto"], swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SyncEngineTests",
            dependencies: [
                "SyncEngine", "Warehouses", "Catalog", "ModelCache", "EnrichPolicy", "RPCTesting", grdb, log,
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "EnrichmentTests",
            dependencies: ["Enrichment", "ModelCache", "EventJSON", "Mapping", "EventGenerators"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ServicesTests", dependencies: ["Services", "ModelCache", "RPCMessages", "RPCCore"],
            swiftSettings: strictSettings
        ),
        // Counts the test process's allocations per thread (defines malloc); only AllocationTests uses it.
        .target(name: "CAllocationCounter", path: "Tests/CAllocationCounter"),
        .testTarget(
            name: "AllocationTests",
            dependencies: [
                "CAllocationCounter", "Services", "SyncEngine", "Catalog", "ModelCache", "RPCCore", "RPCMessages",
                "RPCCall",
                "RPCTesting", "SystemCrypto", log,
            ],
            swiftSettings: allocationTestSettings
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "EnrichServer", "EnrichClient", "RPCTesting", "Warehouses", "RPCCore", "RPCMessages", "RPCTransport",
                "EventJSON", "ModelCache", log,
            ] + nio,
            swiftSettings: strictSettings
        ),
    ]
)
