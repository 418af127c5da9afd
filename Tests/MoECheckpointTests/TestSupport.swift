import Foundation
import MoECheckpoint

/// Paths and helpers shared by the test suites.
enum TestSupport {
    /// The repository root (one place computes it: `Fixtures.repo`).
    static let repoRoot: URL = Fixtures.repo

    /// The project's own fixtures (`Tests/Fixtures`).
    static let projectFixtures = repoRoot.appendingPathComponent("Tests/Fixtures")

    /// The independent reference fixtures beside the repository (`../shared/fixtures`), if present.
    static let sharedFixtures = repoRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures")

    /// Writes `bytes` to a new file in a temporary folder and returns its path.
    static func write(_ bytes: [UInt8], named name: String, in folder: URL? = nil) throws -> String {
        let dir = try folder ?? TemporaryFolder().url
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    /// The built `moe-ckpt` executable (see `CLI`).
    static var binary: URL? { CLI.binary }

    /// Runs the CLI with `arguments`.
    static func run(_ arguments: [String]) throws -> CLI.Result { try CLI.run(arguments) }

    typealias CLIMissing = CLI.NotBuilt

    /// A safetensors file built from raw parts, for hostile-input tests.
    static func safetensorsBytes(header: String, data: [UInt8] = [], declaredLength: UInt64? = nil) -> [UInt8] {
        let json = Array(header.utf8)
        let length = declaredLength ?? UInt64(json.count)
        return withUnsafeBytes(of: length.littleEndian) { Array($0) } + json + data
    }
}
