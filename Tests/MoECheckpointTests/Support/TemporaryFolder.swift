import Foundation

/// A fresh empty folder for one test.
///
/// Every folder of a test run lives under one root, `$TMPDIR/moe-ckpt-tests-PID/`, removed when
/// the test process exits: no test has to keep its folder alive or clean up after itself, and a
/// test that fails half-way leaves nothing behind.
struct TemporaryFolder {
    let url: URL

    /// `label` only makes the folder's name readable (the calling test's name by default).
    init(_ label: String = #function) throws {
        let readable = label.filter { $0.isLetter || $0.isNumber }.prefix(40)
        url = Self.root.appendingPathComponent("\(readable)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// The folder's path.
    var path: String { url.path }

    /// The path of `name` inside the folder.
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    private static let root: URL = {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("moe-ckpt-tests-\(getpid())")
        atexit { try? FileManager.default.removeItem(at: TemporaryFolder.root) }
        return root
    }()
}

/// Runs `body` with a fresh folder.
func withTemporaryDirectory<R>(_ body: (URL) throws -> R) throws -> R {
    try body(TemporaryFolder().url)
}
