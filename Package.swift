// swift-tools-version:6.0
import PackageDescription

/// twinrender: a spool daemon that renders consented, watermarked images of fashion models'
/// digital twins on CPU render hosts. One module per pipeline stage; `TwinDaemon` composes them.
let package = Package(
    name: "twinrender",
    products: [
        .executable(name: "twinrender", targets: ["twinrender"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // System-library shims (Debian: libopenblas-dev, libpng-dev, libjpeg62-turbo-dev).
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG"),
        .systemLibrary(name: "CJPEG", path: "Sources/CJPEG"),

        // What every stage shares: durable file I/O, the host-name rule, UTC time.
        .target(name: "TwinBase"),

        // Stages.
        .target(name: "TwinSpool", dependencies: ["TwinBase"]),
        .target(
            name: "TwinInference",
            dependencies: ["CBLAS", "TwinBase", .product(name: "Crypto", package: "swift-crypto")],
            // AVX2/FMA code generation always; bounds and overflow checks dropped in release
            // builds only (docs/inference.md, "Build flags", has the measurement behind it).
            swiftSettings: [
                .unsafeFlags(["-target-cpu", "haswell"]),
                .unsafeFlags(["-Ounchecked"], .when(configuration: .release)),
            ]
        ),
        .target(name: "TwinConsent", dependencies: ["TwinBase", .product(name: "Crypto", package: "swift-crypto")]),
        .target(
            name: "TwinImaging",
            dependencies: [
                "CPNG", "CJPEG", "TwinBase",
                // C2PA Content Credentials: COSE signatures and the X.509 chain (C2PA/).
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ]
        ),
        .target(name: "TwinLedger", dependencies: ["TwinBase", .product(name: "Crypto", package: "swift-crypto")]),

        // Fleet mode: the queue, leases, quotas and ledger on PostgreSQL (docs/fleet.md).
        .target(
            name: "TwinFleet",
            dependencies: [
                "TwinBase", "TwinLedger", "TwinSpool",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Composition.
        .target(
            name: "TwinDaemon",
            dependencies: [
                "TwinBase", "TwinSpool", "TwinInference", "TwinConsent", "TwinImaging", "TwinLedger", "TwinFleet",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "twinrender",
            dependencies: [
                "TwinDaemon", "TwinBase", "TwinConsent", "TwinInference", "TwinLedger", "TwinSpool", "TwinImaging", "TwinFleet",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),

        .testTarget(name: "TwinBaseTests", dependencies: ["TwinBase"]),
        .testTarget(name: "TwinSpoolTests", dependencies: ["TwinSpool"]),
        .testTarget(name: "TwinInferenceTests", dependencies: ["TwinInference", "TwinBase"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TwinConsentTests", dependencies: ["TwinConsent"]),
        .testTarget(name: "TwinImagingTests", dependencies: ["TwinImaging", "TwinBase"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TwinLedgerTests", dependencies: ["TwinLedger", "TwinBase"]),
        .testTarget(name: "TwinFleetTests", dependencies: ["TwinFleet", "TwinLedger", "TwinBase"]),
        .testTarget(name: "TwinDaemonTests", dependencies: [
            "TwinDaemon", "TwinBase", "TwinConsent", "TwinImaging", "TwinLedger", "TwinFleet", "twinrender",
            .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Crypto", package: "swift-crypto"),
        ], resources: [.copy("Fixtures")]),
    ]
)
