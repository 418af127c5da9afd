import Foundation
import MoECheckpoint

/// Paths and helpers shared by the test suites.
enum TestSupport {
    /// The repository root, found from this file's location.
    static let repoRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The project's own fixtures (`Tests/Fixtures`).
    static let projectFixtures = repoRoot.appendingPathComponent("Tests/Fixtures")

    /// The independent reference fixtures beside the repository (`../shared/fixtures`), if present.
    static let sharedFixtures = repoRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures")

    /// A fresh empty folder under the system temporary directory.
    static func temporaryDirectory(_ name: String = #function) throws -> URL {
        let safe = name.filter { $0.isLetter || $0.isNumber }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("moe-ckpt-tests-\(safe)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Writes `bytes` to a new file in a temporary folder and returns its path.
    static func write(_ bytes: [UInt8], named name: String, in folder: URL? = nil) throws -> String {
        let dir = try folder ?? temporaryDirectory()
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    /// The built `moe-ckpt` executable, next to the test bundle.
    static var binary: URL? {
        var candidates: [URL] = []
        if let executable = Bundle.main.executableURL { candidates.append(executable.deletingLastPathComponent()) }
        candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
        for build in [".build/debug", ".build/release"] { candidates.append(repoRoot.appendingPathComponent(build)) }
        for dir in candidates {
            let url = dir.appendingPathComponent("moe-ckpt")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return nil
    }

    /// What a run of the CLI produced.
    struct Run {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Runs the CLI with `arguments`.
    static func run(_ arguments: [String]) throws -> Run {
        guard let binary else { throw CLIMissing() }
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
    }

    struct CLIMissing: Error, CustomStringConvertible {
        var description: String { "the moe-ckpt executable was not built next to the tests" }
    }

    /// A safetensors file built from raw parts, for hostile-input tests.
    static func safetensorsBytes(header: String, data: [UInt8] = [], declaredLength: UInt64? = nil) -> [UInt8] {
        let json = Array(header.utf8)
        let length = declaredLength ?? UInt64(json.count)
        return withUnsafeBytes(of: length.littleEndian) { Array($0) } + json + data
    }
}
