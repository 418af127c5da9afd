import Foundation

/// Where a Megatron legacy checkpoint's files are: the save root, the iteration folder and the
/// `mp_rank_TT[_PPP][_EEE]/model_optim_rng.pt` files (`layouts-megatron.md` §4.1, gotcha 10).
public struct LegacyRankFiles: Sendable {
    /// One rank file and the ranks its folder name gives.
    public struct RankFile: Sendable, Equatable {
        /// The `model_optim_rng.pt` path.
        public let path: String
        /// The folder name (`mp_rank_00_001`).
        public let folder: String
        /// `TT`, always present.
        public var tensorRank: Int
        /// `PPP`, present when PP > 1.
        public var pipelineRank = 0
        /// `EEE`, present when EP > 1.
        public var expertRank = 0
    }

    /// The tracker file of a save root.
    public static let trackerName = "latest_checkpointed_iteration.txt"
    /// The file in every rank folder.
    public static let fileName = "model_optim_rng.pt"
    /// The prefix of rank folders.
    static let rankPrefix = "mp_rank_"
    /// Largest tracker file read.
    static let maxTrackerBytes = 64

    /// The iteration folder.
    public let iterationFolder: String
    /// The iteration the tracker names (or the folder's), `nil` for `release`.
    public let iteration: Int?
    /// Rank files, sorted by folder name. Ranks past the TP field are assigned by `assignRanks`.
    public var files: [RankFile]
    /// Whether the user named one rank file (or folder) rather than a whole iteration.
    public let isSingleFile: Bool
    /// The numeric suffixes of each folder (`mp_rank_00_001` → `[0, 1]`), in `files` order.
    let suffixes: [[Int]]

    /// Finds the files for a save root, an iteration folder, a rank folder or one rank file.
    public init(path given: String) throws {
        var path = given
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw CheckpointError.notFound(path: path) }
        if isDirectory.boolValue, (path as NSString).lastPathComponent.hasPrefix(Self.rankPrefix) {
            // A rank folder: treat like its file.
            path = (path as NSString).appendingPathComponent(Self.fileName)
            guard FileManager.default.fileExists(atPath: path) else { throw CheckpointError.notFound(path: path) }
            isDirectory = false
        }
        if !isDirectory.boolValue {
            // One rank file: its folder names its ranks.
            let folder = (path as NSString).deletingLastPathComponent
            let name = (folder as NSString).lastPathComponent
            iterationFolder = (folder as NSString).deletingLastPathComponent
            iteration = Self.iterationNumber(of: (iterationFolder as NSString).lastPathComponent)
            let parsed = try Self.parseRankFolder(name, in: iterationFolder)
            files = [RankFile(path: path, folder: name, tensorRank: parsed[0])]
            suffixes = [parsed]
            isSingleFile = true
            return
        }
        var folder = path
        var iteration = Self.iterationNumber(of: (path as NSString).lastPathComponent)
        let tracker = (path as NSString).appendingPathComponent(Self.trackerName)
        if FileManager.default.fileExists(atPath: tracker) {
            let text = try Self.readTracker(tracker)
            let name: String
            if text == "release" {
                name = "release"
                iteration = nil
            } else if let number = Int(text), number >= 0 {
                name = String(format: "iter_%07d", number)
                iteration = number
            } else {
                throw MegatronLegacyError.invalidTracker(file: tracker, found: text)
            }
            folder = (path as NSString).appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: folder) else { throw MegatronLegacyError.missingIteration(path: path, folder: name) }
        }
        iterationFolder = folder
        self.iteration = iteration
        isSingleFile = false
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasPrefix(Self.rankPrefix) }.sorted()
        var files: [RankFile] = []
        var suffixes: [[Int]] = []
        for name in names {
            let file = ((folder as NSString).appendingPathComponent(name) as NSString).appendingPathComponent(Self.fileName)
            guard FileManager.default.fileExists(atPath: file) else { continue }
            let parsed = try Self.parseRankFolder(name, in: folder)
            files.append(RankFile(path: file, folder: name, tensorRank: parsed[0]))
            suffixes.append(parsed)
        }
        guard !files.isEmpty else { throw MegatronLegacyError.noRankFiles(folder: folder) }
        self.files = files
        self.suffixes = suffixes
    }

    /// Whether `path` looks like a legacy checkpoint (cheap: names only, plus the tracker).
    public static func looksLikeLegacy(_ probe: PathProbe) -> Bool {
        if !probe.isDirectory {
            let folder = ((probe.path as NSString).deletingLastPathComponent as NSString).lastPathComponent
            return probe.pathExtension == "pt" && folder.hasPrefix(rankPrefix)
        }
        if probe.entries.contains(where: { $0.hasPrefix(rankPrefix) }) { return true }
        if (probe.path as NSString).lastPathComponent.hasPrefix(rankPrefix) { return probe.entries.contains(fileName) }
        guard probe.entries.contains(trackerName), let text = try? readTracker((probe.path as NSString).appendingPathComponent(trackerName)) else {
            return false
        }
        let name = text == "release" ? "release" : Int(text).map { String(format: "iter_%07d", $0) } ?? ""
        let folder = (probe.path as NSString).appendingPathComponent(name)
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return entries.contains { $0.hasPrefix(rankPrefix) }
    }

    /// The tracker's text, trimmed.
    static func readTracker(_ path: String) throws -> String {
        let mapped = try MappedFile(path: path)
        guard mapped.size <= maxTrackerBytes else {
            throw MegatronLegacyError.invalidTracker(file: path, found: "\(mapped.size) bytes")
        }
        return mapped.withAllBytes { String(decoding: $0, as: UTF8.self) }.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `iter_0000001` → 1.
    static func iterationNumber(of name: String) -> Int? {
        guard name.hasPrefix("iter_") else { return nil }
        return Int(name.dropFirst(5))
    }

    /// `mp_rank_TT[_PPP][_EEE]` → `[TT, PPP?, EEE?]`.
    static func parseRankFolder(_ name: String, in folder: String) throws -> [Int] {
        let expected = "mp_rank_TT[_PPP][_EEE] with 2- and 3-digit ranks"
        guard name.hasPrefix(rankPrefix) else { throw MegatronLegacyError.invalidRankFolder(folder: folder, name: name, expected: expected) }
        let parts = name.dropFirst(rankPrefix.count).split(separator: "_", omittingEmptySubsequences: false)
        guard (1...3).contains(parts.count) else { throw MegatronLegacyError.invalidRankFolder(folder: folder, name: name, expected: expected) }
        var ranks: [Int] = []
        for (i, part) in parts.enumerated() {
            let width = i == 0 ? 2 : 3
            guard part.count == width, part.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let value = Int(part) else {
                throw MegatronLegacyError.invalidRankFolder(folder: folder, name: name, expected: expected)
            }
            ranks.append(value)
        }
        return ranks
    }

    /// Assigns pipeline and expert ranks from the folder suffixes, using the parallel sizes from
    /// `args` (one suffix is ambiguous: PP rank when PP > 1, else EP rank), and checks that every
    /// rank file the sizes require exists.
    mutating func assignRanks(_ sizes: LegacyParallelSizes, checkComplete: Bool) throws {
        let pipelineParallel = sizes.pipeline, expertParallel = sizes.expert
        for (index, suffix) in suffixes.enumerated() {
            let name = files[index].folder
            let expectedCount = 1 + (pipelineParallel > 1 ? 1 : 0) + (expertParallel > 1 ? 1 : 0)
            guard suffix.count == expectedCount else {
                throw MegatronLegacyError.invalidRankFolder(
                    folder: iterationFolder, name: name,
                    expected: "\(expectedCount - 1) rank suffix(es) for pipeline parallel \(pipelineParallel) and expert parallel \(expertParallel) (from args)")
            }
            var rest = suffix.dropFirst()
            if pipelineParallel > 1 { files[index].pipelineRank = rest.removeFirst() }
            if expertParallel > 1 { files[index].expertRank = rest.removeFirst() }
            guard files[index].tensorRank < sizes.tensor, files[index].pipelineRank < pipelineParallel, files[index].expertRank < expertParallel else {
                throw MegatronLegacyError.invalidRankFolder(
                    folder: iterationFolder, name: name,
                    expected: "ranks below tensor parallel \(sizes.tensor), pipeline parallel \(pipelineParallel) and expert parallel \(expertParallel)")
            }
        }
        guard checkComplete else { return }
        for tp in 0..<sizes.tensor {
            for pp in 0..<pipelineParallel {
                for ep in 0..<expertParallel where !files.contains(where: { $0.tensorRank == tp && $0.pipelineRank == pp && $0.expertRank == ep }) {
                    throw MegatronLegacyError.missingRankFile(
                        folder: iterationFolder, name: Self.folderName(tensorRank: tp, pipelineRank: pp, expertRank: ep, sizes: sizes),
                        reason: "tensor parallel \(sizes.tensor), pipeline parallel \(pipelineParallel) and expert parallel \(expertParallel) need it")
                }
            }
        }
    }

    /// `mp_rank_{tp:02d}[_{pp:03d}][_{ep:03d}]`, the suffixes present only when their size is
    /// above 1 (`checkpointing.py : get_checkpoint_name`).
    static func folderName(tensorRank: Int, pipelineRank: Int, expertRank: Int, sizes: LegacyParallelSizes) -> String {
        var name = rankPrefix + String(format: "%02d", tensorRank)
        if sizes.pipeline > 1 { name += String(format: "_%03d", pipelineRank) }
        if sizes.expert > 1 { name += String(format: "_%03d", expertRank) }
        return name
    }

    /// Largest suffix count seen (used when `args` does not give the sizes).
    var suffixCount: Int { suffixes.map(\.count).max() ?? 1 }
    /// Distinct values of the last suffix (EP ranks, when `args` does not say).
    var lastSuffixValues: Set<Int> { Set(suffixes.compactMap { $0.count > 1 ? $0.last : nil }) }
}
