// swift-tools-version:6.0
// The forward benchmark: `scripts/bench/run.sh` builds this in release and runs it.
// A package of its own so the main package gains no benchmark target.
import PackageDescription

let package = Package(
    name: "forward-bench",
    dependencies: [.package(name: "moe-ckpt", path: "../..")],
    targets: [
        .executableTarget(
            name: "forward-bench",
            dependencies: [.product(name: "MoECheckpoint", package: "moe-ckpt")],
            path: "Sources/forward-bench"),
    ]
)
