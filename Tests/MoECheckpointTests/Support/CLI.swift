import Foundation

/// Runs the built `moe-ckpt` binary, found next to the test bundle under `.build/`.
enum CLI {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// The binary: beside the test bundle, else `.build/debug/moe-ckpt` of this repository;
    /// `nil` when it was not built.
    static var binary: URL? {
        var candidates: [URL] = []
        if let bundle = Bundle.main.executableURL?.deletingLastPathComponent() {
            candidates.append(bundle.appendingPathComponent("moe-ckpt"))
            candidates.append(bundle.deletingLastPathComponent().appendingPathComponent("moe-ckpt"))
        }
        for bundle in Bundle.allBundles { candidates.append(bundle.bundleURL.deletingLastPathComponent().appendingPathComponent("moe-ckpt")) }
        candidates.append(FixtureCatalog.repositoryRoot.appendingPathComponent(".build/debug/moe-ckpt"))
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    struct NotBuilt: Error, CustomStringConvertible {
        var description: String { "the moe-ckpt executable was not built next to the tests" }
    }

    static func run(_ arguments: [String]) throws -> Result {
        let process = Process()
        guard let binary else { throw NotBuilt() }
        process.executableURL = binary
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"
        process.environment = environment
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read before waiting so a full pipe cannot block the child.
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }
}
