// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "moe-ckpt",
    products: [
        .library(name: "MoECheckpoint", targets: ["MoECheckpoint"]),
        .executable(name: "moe-ckpt", targets: ["moe-ckpt"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // C libraries come in through small system-library targets (see docs/architecture.md).
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CHDF5", path: "Sources/CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"])]),
        // GNU-only system calls (copy_file_range) that Swift's Glibc module does not expose, the
        // crash guard, and OpenBLAS (the forward's matrix products, swift-platform.md §6) loaded on
        // first use rather than linked (Sources/CSystemShims/blas.c says why).
        .target(name: "CSystemShims", path: "Sources/CSystemShims", linkerSettings: [.linkedLibrary("dl"), .linkedLibrary("pthread")]),
        .target(
            name: "MoECheckpoint",
            dependencies: ["CZlib", "CHDF5", "CSystemShims"]
        ),
        .executableTarget(
            name: "moe-ckpt",
            dependencies: [
                "MoECheckpoint",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Synthetic checkpoints for scripts/bench.
        .executableTarget(name: "BenchSynth", dependencies: ["MoECheckpoint"]),
        // libFuzzer harness over every parser; see scripts/fuzz/run.sh.
        .executableTarget(name: "FuzzParsers", dependencies: ["MoECheckpoint"]),
        .testTarget(
            name: "MoECheckpointTests",
            // CHDF5: the HDF5 tests build hostile files with the C API (external links, filters).
            dependencies: ["MoECheckpoint", "CHDF5"]
        ),
    ]
)
