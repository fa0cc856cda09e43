// swift-tools-version: 6.0
import PackageDescription

/// One settings array for every target: Swift 6 mode, explicit existentials,
/// imports internal unless marked `public import`.
let settings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "certroll",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "certroll", targets: ["certroll"]),
        .executable(name: "xsoar-sim", targets: ["xsoar-sim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // The two doors to C.
        .systemLibrary(
            name: "CLibSSH2", path: "Sources/CLibSSH2", pkgConfig: "libssh2",
            providers: [.apt(["libssh2-1-dev"])]),
        .systemLibrary(
            name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]),

        .target(
            name: "CertrollCore",
            dependencies: [.product(name: "Yams", package: "Yams")],
            swiftSettings: settings),
        .target(
            name: "CertrollPKI",
            dependencies: ["CertrollCore", "COpenSSL"],
            swiftSettings: settings),
        .target(
            name: "CertrollSSH",
            dependencies: [
                "CertrollCore", "CLibSSH2",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: settings),
        .target(
            name: "CertrollRollout",
            dependencies: [
                "CertrollCore",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: settings),
        .target(
            name: "CertrollCLI",
            dependencies: [
                "CertrollCore", "CertrollPKI", "CertrollSSH", "CertrollRollout",
                .product(name: "Yams", package: "Yams"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: settings,
            plugins: ["GitCommit"]),
        // `certroll --version` names the commit it was built from.
        .plugin(name: "GitCommit", capability: .buildTool(), path: "Plugins/GitCommit"),
        .executableTarget(
            name: "certroll",
            dependencies: [
                "CertrollCLI",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: settings),
        .executableTarget(
            name: "certroll-bench-ssh",
            dependencies: ["CertrollSSH", "CertrollCore"],
            swiftSettings: settings),
        .executableTarget(
            name: "xsoar-sim",
            dependencies: ["CertrollPKI", "CertrollCore"],
            swiftSettings: settings),
        .target(
            name: "CertrollTestKit",
            dependencies: ["CertrollCore", "CertrollPKI"],
            swiftSettings: settings),

        .testTarget(name: "CertrollCoreTests", dependencies: ["CertrollCore"], swiftSettings: settings),
        .testTarget(
            name: "CertrollPKITests", dependencies: ["CertrollPKI", "CertrollTestKit"],
            swiftSettings: settings),
        .testTarget(
            name: "CertrollSSHTests", dependencies: ["CertrollSSH", "CertrollTestKit"],
            swiftSettings: settings),
        .testTarget(
            name: "CertrollRolloutTests", dependencies: ["CertrollRollout", "CertrollTestKit"],
            swiftSettings: settings),
        .testTarget(
            name: "CertrollCLITests", dependencies: ["CertrollCLI", "CertrollTestKit"],
            swiftSettings: settings),
        .testTarget(
            name: "SandboxTests", dependencies: ["CertrollPKI", "CertrollTestKit"],
            swiftSettings: settings),
        // Rollout scenarios on the sandbox: the built binary against real sshd nodes.
        .testTarget(
            name: "RolloutSandboxTests", dependencies: ["CertrollCore", "CertrollPKI", "CertrollTestKit"],
            swiftSettings: settings),
        .testTarget(
            name: "RolloutFaultTests", dependencies: ["CertrollCore", "CertrollPKI", "CertrollTestKit"],
            swiftSettings: settings),
    ]
)
