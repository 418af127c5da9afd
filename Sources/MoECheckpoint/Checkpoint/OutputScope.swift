import Foundation

/// Which files of a conversion this process writes (cluster mode, `docs/cluster.md`).
///
/// Every process walks the writer's whole plan in the same order. Each *data file* (a safetensors
/// shard, a DCP `__r_b.distcp`, a legacy rank file) gets the index of its creation; file `k`
/// belongs to part `k mod N`. A part writes its own data files for real and *counts* the others,
/// so the offsets inside shared metadata come out the same in every process. The shared files
/// (index, `config.json`, `.metadata`, `common.pt`, trackers) are written only by a whole
/// conversion or by `--finalize`, which counts every data file and writes nothing else.
public final class OutputScope: @unchecked Sendable {
    public enum Mode: Equatable, Sendable {
        /// One process writes everything (the default).
        case whole
        /// `--part I/N`: this process writes the data files of part `index` (0-based) of `count`.
        case part(index: Int, count: Int)
        /// `--finalize`: only the shared files.
        case finalize
    }

    /// A data file of the plan, with the part that writes it and its size.
    public struct DataFile: Equatable, Sendable {
        public let path: String
        public let part: Int
        public let size: Int
    }

    public let mode: Mode
    /// Parts the data files are spread over (1 for a whole conversion; set by finalize).
    public let partCount: Int
    private var files: [(file: OutputFile, part: Int)] = []
    /// The shared files finalize wrote.
    public private(set) var sharedPaths: [String] = []

    public init(_ mode: Mode = .whole, partCount: Int? = nil) {
        self.mode = mode
        if case .part(_, let count) = mode { self.partCount = count } else { self.partCount = max(partCount ?? 1, 1) }
    }

    /// Whether this process writes the shared metadata files.
    public var writesSharedFiles: Bool {
        if case .part = mode { return false }
        return true
    }

    /// Opens the next data file of the plan: a real file when this process writes it, a counting
    /// one otherwise. Parts write under a temporary name and rename on close (retries replace).
    public func dataFile(_ path: String) throws -> OutputFile {
        let part = files.count % partCount
        let file: OutputFile
        switch mode {
        case .whole: file = try OutputFile(creating: path)
        case .part(let index, _) where index == part: file = try OutputFile(replacing: path)
        case .part, .finalize: file = OutputFile(counting: path)
        }
        files.append((file, part))
        return file
    }

    /// Opens a shared file, or `nil` in a part. Finalize replaces what an earlier, failed
    /// finalize left, so it can be retried.
    public func sharedOutput(_ path: String) throws -> OutputFile? {
        switch mode {
        case .part: return nil
        case .whole: return try OutputFile(creating: path)
        case .finalize:
            sharedPaths.append(path)
            return try OutputFile(replacing: path)
        }
    }

    /// Writes a small shared file, unless this process is a part.
    public func sharedFile(_ bytes: [UInt8], to path: String) throws {
        guard let output = try sharedOutput(path) else { return }
        try output.write(bytes)
        try output.close()
    }

    /// Creates a folder of the output. A whole conversion owns a fresh tree (the folder must not
    /// exist); parts and finalize share one staging tree, so there it may exist already.
    public func makeDirectory(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: mode != .whole)
    }

    /// Every data file of the plan so far, in plan order, with its (written or counted) size.
    public var dataFiles: [DataFile] {
        files.map { DataFile(path: $0.file.path, part: $0.part, size: $0.file.position) }
    }

    /// A fingerprint of the plan's data files (names relative to `root`, and sizes): parts of
    /// one conversion agree on it; a part run with other options does not.
    public func fingerprint(relativeTo root: String) -> String {
        let prefix = root.hasSuffix("/") ? root : root + "/"
        let listing = dataFiles.map { file in
            "\(file.path.hasPrefix(prefix) ? String(file.path.dropFirst(prefix.count)) : file.path)\t\(file.size)\n"
        }.joined()
        return String(FNV1a.hash64(listing.utf8), radix: 16)
    }
}
