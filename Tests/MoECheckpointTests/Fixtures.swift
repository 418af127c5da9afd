import Foundation
import MoECheckpoint

/// Where the test fixtures live: the project's own (`<repo>/Tests/Fixtures`, or
/// `$MOECKPT_FIXTURES`) and the shared reference set (`<repo>/../shared/fixtures`). Tests that
/// need them are disabled with a message when they are absent.
enum Fixtures {
    /// The package root, found from this file's path.
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The roots that exist, project fixtures first.
    static let roots: [URL] = {
        var candidates: [URL] = []
        if let env = ProcessInfo.processInfo.environment["MOECKPT_FIXTURES"] { candidates.append(URL(fileURLWithPath: env)) }
        candidates.append(repo.appendingPathComponent("Tests/Fixtures"))
        candidates.append(repo.deletingLastPathComponent().appendingPathComponent("shared/fixtures"))
        return candidates.filter { FileManager.default.fileExists(atPath: $0.path) }
    }()

    /// Whether any fixture root exists.
    static var available: Bool { !roots.isEmpty }

    /// Case folders (those with `case.json`) across all roots.
    static var cases: [URL] {
        roots.flatMap { root in
            ((try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []).sorted()
                .map { root.appendingPathComponent($0) }
                .filter { FileManager.default.fileExists(atPath: $0.appendingPathComponent("case.json").path) }
        }
    }

    /// Every Megatron legacy save root (`megatron/legacy*`) with its case folder.
    static var legacyRoots: [(caseDir: URL, root: URL)] {
        cases.flatMap { caseDir -> [(caseDir: URL, root: URL)] in
            let megatron = caseDir.appendingPathComponent("megatron")
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: megatron.path)) ?? []).sorted()
            return names.filter { $0.hasPrefix("legacy") }.map { (caseDir, megatron.appendingPathComponent($0)) }
        }
    }

    /// The hostile corpus (`Tests/Fixtures/hostile/`): every file in it is refused, so walks
    /// over the valid fixtures skip it.
    static let hostileFolder = "hostile"

    /// Every `.pt` file under the fixture roots, the hostile corpus left out.
    static var ptFiles: [URL] {
        roots.flatMap { root -> [URL] in
            guard let walker = FileManager.default.enumerator(atPath: root.path) else { return [] }
            return walker.compactMap { $0 as? String }.filter { $0.hasSuffix(".pt") && !$0.hasPrefix(hostileFolder + "/") }
                .sorted().map { root.appendingPathComponent($0) }
        }
    }
}
