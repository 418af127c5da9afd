import Foundation
import Testing

/// The committed hostile corpus (`Tests/Fixtures/hostile/`): every file is what
/// `HostileCorpus` builds, is listed in the folder's README, and makes `inspect` (and `convert`)
/// exit 2 with one stderr line naming the file and what was expected.
@Suite("hostile corpus")
struct HostileCorpusTests {
    /// Writes the corpus instead of checking it (`MOE_CKPT_WRITE_HOSTILE=1`).
    static let regenerate = ProcessInfo.processInfo.environment["MOE_CKPT_WRITE_HOSTILE"] == "1"

    @Test("committed bytes are the generator's", arguments: HostileCorpus.cases)
    func committedBytes(_ hostile: HostileCase) throws {
        let built = try hostile.build()
        if Self.regenerate { try write(built, to: hostile.path) }
        switch built {
        case .file(let bytes):
            let committed = try Data(contentsOf: URL(fileURLWithPath: hostile.path))
            if hostile.reproducible {
                #expect(Array(committed) == bytes, "\(hostile.name) differs from HostileCorpus; regenerate it")
            } else {
                #expect(committed.count == bytes.count, "\(hostile.name): \(committed.count) bytes, the generator makes \(bytes.count)")
            }
        case .folder(let files):
            for file in files {
                let committed = try Data(contentsOf: URL(fileURLWithPath: hostile.path + "/" + file.name))
                #expect(Array(committed) == file.bytes, "\(hostile.name)/\(file.name) differs from HostileCorpus; regenerate it")
            }
        }
    }

    @Test("the README lists every file and its rule")
    func readme() throws {
        let readme = try String(contentsOf: HostileCase.folder.appendingPathComponent("README.md"), encoding: .utf8)
        for hostile in HostileCorpus.cases {
            #expect(readme.contains("`\(hostile.name)`") && readme.contains(hostile.rule), "README misses \(hostile.name): \(hostile.rule)")
        }
        let listed = try FileManager.default.contentsOfDirectory(atPath: HostileCase.folder.path).filter { $0 != "README.md" }
        #expect(Set(listed) == Set(HostileCorpus.cases.map(\.name)), "files without a case: \(Set(listed).subtracting(HostileCorpus.cases.map(\.name)))")
    }

    @Test("inspect and convert exit 2 with one line naming the file", .enabled(if: CLI.binary != nil, "moe-ckpt not built"), arguments: HostileCorpus.cases)
    func cli(_ hostile: HostileCase) throws {
        let scratch = try TemporaryFolder()
        let output = scratch.path("out")
        var runs = [["inspect", hostile.path]]
        if hostile.converts { runs.append(["convert", hostile.path, output, "--to", "hf", "--format", "safetensors"]) }
        for arguments in runs {
            let result = try CLI.run(arguments)
            #expect(result.status == 2, "\(arguments): exit \(result.status): \(result.stderr)")
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.count == 1, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains(hostile.name), "\(arguments): the line does not name the file: \(result.stderr)")
            for word in hostile.expected {
                #expect(result.stderr.contains(word), "\(arguments): '\(word)' not in: \(result.stderr)")
            }
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: scratch.url.path)
        #expect(left.isEmpty, "convert left \(left) in \(scratch.url.path)")
    }

    func write(_ content: HostileCase.Content, to path: String) throws {
        switch content {
        case .file(let bytes):
            try Data(bytes).write(to: URL(fileURLWithPath: path))
        case .folder(let files):
            try? FileManager.default.removeItem(atPath: path)
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            for file in files { try Data(file.bytes).write(to: URL(fileURLWithPath: path + "/" + file.name)) }
        }
    }
}
