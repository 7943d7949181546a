// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "Triage",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "triage", targets: ["triage"]),
        .executable(name: "triage-bench", targets: ["TriageBench"]),
        .library(name: "TriageCore", targets: ["TriageCore"]),
    ],
    traits: [
        .trait(name: "MongoDB", description: """
            The MongoDB store, through MongoDB's C driver (libmongoc-dev). Without it, Triage builds with SQLite             only: swift build --disable-default-traits
            """),
        .default(enabledTraits: ["MongoDB"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0"),
    ],
    targets: [
        .target(
            name: "TriageCore",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Configuration", package: "swift-configuration"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TriageSQLite",
            dependencies: ["TriageCore", .product(name: "GRDB", package: "GRDB.swift"),
                           .product(name: "GRDBSQLite", package: "GRDB.swift")],
            swiftSettings: swiftSettings
        ),
        .systemLibrary(
            name: "CMongoC",
            pkgConfig: "libmongoc-1.0",
            providers: [.apt(["libmongoc-dev"]), .brew(["mongo-c-driver"])]
        ),
        .target(
            name: "TriageMongo",
            dependencies: [
                "TriageCore", "CMongoC",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TriageLLM",
            dependencies: [
                "TriageRedaction",
                .product(name: "Configuration", package: "swift-configuration"),
                "TriageCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TriageProcessor",
            dependencies: [
                .product(name: "Configuration", package: "swift-configuration"),
                "TriageCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TriageServer",
            dependencies: [
                .product(name: "Configuration", package: "swift-configuration"),
                "TriageCore", "TriageProcessor",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TriageIngest",
            dependencies: ["TriageCore"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TriageRedaction",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "triage",
            dependencies: [
                .product(name: "Configuration", package: "swift-configuration"),
                "TriageCore", "TriageSQLite", "TriageLLM", "TriageProcessor", "TriageIngest", "TriageServer",
                .target(name: "TriageMongo", condition: .when(traits: ["MongoDB"])),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "TriageBench",
            dependencies: [
                "TriageCore", "TriageSQLite", "TriageLLM", "TriageProcessor", "TriageIngest", "TriageRedaction",
                "TestSupport",
                .target(name: "TriageMongo", condition: .when(traits: ["MongoDB"])),
                .target(name: "MongoTestSupport", condition: .when(traits: ["MongoDB"])),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "MongoTestSupport",
            dependencies: ["TriageCore", "TriageSQLite", "TriageMongo", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TestSupport",
            dependencies: [
                "TriageCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TriageCoreTests",
            dependencies: ["TriageCore", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TriageStoreTests",
            dependencies: ["TriageCore", "TriageSQLite", "TriageMongo", "TestSupport", "MongoTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TriageProcessorTests",
            dependencies: ["TriageCore", "TriageProcessor", "TriageLLM", "TriageMongo", "TestSupport", "MongoTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TriageLLMTests",
            dependencies: [
                .product(name: "Configuration", package: "swift-configuration"),
                "TriageCore", "TriageLLM", "TriageProcessor", "TriageSQLite", "TriageIngest", "TriageRedaction",
                "TestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TriageServerTests",
            dependencies: [
                .product(name: "Configuration", package: "swift-configuration"),
                "TriageCore", "TriageServer", "TriageSQLite", "TestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TriageRedactionTests",
            dependencies: ["TriageRedaction", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TriageIngestTests",
            dependencies: ["TriageCore", "TriageIngest", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TriageCLITests",
            dependencies: ["TriageCore", "TriageSQLite", "TestSupport", "MongoTestSupport"],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
