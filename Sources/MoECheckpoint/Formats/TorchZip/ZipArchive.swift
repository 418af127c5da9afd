import Foundation

/// A validated torch.save zip archive over a memory-mapped file (or a byte range of one, for the
/// archives DCP embeds in `.distcp` files).
///
/// Opening parses only the end records, the central directory and the local headers. Records are
/// read on demand: stored ones in place through the mapping, deflated ones inflated within the
/// limits of `TorchZipLimits`. CRC-32s are verified by default, each record once, when its bytes
/// are first used, so `inspect` never reads tensor data.
public final class ZipArchive: @unchecked Sendable {
    /// The mapped file holding the archive.
    public let file: MappedFile
    /// The archive's bytes within `file`.
    public let range: Range<Int>
    /// The name used in messages (the path, plus the item position for embedded archives).
    public let label: String
    /// Entries in central-directory order.
    public let entries: [ZipEntry]
    /// The archive folder every entry lives in (`model_optim_rng`, `archive`).
    public let folder: String
    /// Whether records are checked against their CRC-32 before use.
    public let verifiesCRC: Bool

    private let positions: [String: Int]
    private let lock = NSLock()
    private var verified = Set<Int>()

    /// Maps `path` and validates it as a zip archive.
    public convenience init(path: String, verifyCRC: Bool = true) throws {
        try self.init(file: MappedFile(path: path), verifyCRC: verifyCRC)
    }

    /// Validates the archive held in `range` of `file` (the whole file by default).
    public init(file: MappedFile, range: Range<Int>? = nil, label: String? = nil, verifyCRC: Bool = true) throws {
        let range = range ?? 0..<file.size
        precondition(range.lowerBound >= 0 && range.upperBound <= file.size, "archive range checked by caller")
        let label = label ?? file.path
        let parsed = try file.withBytes(range) { try ZipDirectoryParser(bytes: $0, file: label).parse() }
        self.file = file
        self.range = range
        self.label = label
        self.entries = parsed.entries
        self.folder = parsed.folder
        self.verifiesCRC = verifyCRC
        var positions: [String: Int] = [:]
        for (i, entry) in parsed.entries.enumerated() { positions[entry.name] = i }
        self.positions = positions
    }

    /// The entry for `record`, a name inside the archive folder (`data.pkl`, `data/0`).
    public func entry(_ record: String) -> ZipEntry? {
        positions[folder + "/" + record].map { entries[$0] }
    }

    /// The entry for `record`, or `missingRecord`.
    public func requireEntry(_ record: String) throws -> ZipEntry {
        guard let entry = entry(record) else { throw TorchZipError.missingRecord(file: label, name: record) }
        return entry
    }

    /// The record names inside the archive folder, in archive order.
    public var recordNames: [String] {
        entries.map { String($0.name.dropFirst(folder.count + 1)) }
    }

    /// Where a stored entry's bytes lie in `file` (for lazy, mapped tensors).
    public func fileRange(of entry: ZipEntry) -> Range<Int> {
        let start = range.lowerBound + entry.dataOffset
        return start..<start + Int(entry.compressedSize)
    }

    /// A copy of a record's uncompressed bytes, at most `limit` of them (small records and
    /// `data.pkl`; tensors are never copied this way).
    public func readRecord(_ entry: ZipEntry, limit: Int) throws -> [UInt8] {
        guard entry.uncompressedSize <= UInt64(limit) else {
            throw TorchZipError.recordTooLarge(file: label, name: entry.name, size: entry.uncompressedSize, limit: limit)
        }
        if entry.isStored {
            try verifyOnce(entry)
            return file.withBytes(fileRange(of: entry)) { Array($0) }
        }
        let bytes = try inflate(entry)
        try markVerified(entry, crc: bytes.withUnsafeBytes { Zlib.crc32($0) })
        return bytes
    }

    /// Calls `body` with a record's uncompressed bytes: in place for stored entries, inflated for
    /// deflated ones.
    public func withRecord<R>(_ entry: ZipEntry, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        if entry.isStored {
            try verifyOnce(entry)
            return try file.withBytes(fileRange(of: entry), body)
        }
        let bytes = try inflate(entry)
        try markVerified(entry, crc: bytes.withUnsafeBytes { Zlib.crc32($0) })
        return try bytes.withUnsafeBytes(body)
    }

    /// Checks a stored record's CRC-32 the first time it is used (no-op when verification is off).
    public func verifyOnce(_ entry: ZipEntry) throws {
        guard verifiesCRC, !isVerified(entry) else { return }
        let crc = file.withBytes(fileRange(of: entry)) { Zlib.crc32($0) }
        try markVerified(entry, crc: crc)
    }

    private func isVerified(_ entry: ZipEntry) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return verified.contains(entry.index)
    }

    private func markVerified(_ entry: ZipEntry, crc: UInt32) throws {
        guard verifiesCRC else { return }
        guard crc == entry.crc32 else { throw TorchZipError.crcMismatch(file: label, name: entry.name, expected: entry.crc32, found: crc) }
        lock.lock()
        verified.insert(entry.index)
        lock.unlock()
    }

    /// Inflates a deflated entry; its declared size is capped absolutely and by ratio before any
    /// memory is allocated.
    func inflate(_ entry: ZipEntry) throws -> [UInt8] {
        let ratioLimit = max(entry.compressedSize, 1).multipliedReportingOverflow(by: TorchZipLimits.maxCompressionRatio)
        if entry.uncompressedSize > UInt64(TorchZipLimits.maxInflatedBytes) {
            throw TorchZipError.decompressionLimit(
                file: label, name: entry.name, compressed: entry.compressedSize, uncompressed: entry.uncompressedSize,
                limit: "the \(TorchZipLimits.maxInflatedBytes)-byte limit")
        }
        if !ratioLimit.overflow, entry.uncompressedSize > ratioLimit.partialValue {
            throw TorchZipError.decompressionLimit(
                file: label, name: entry.name, compressed: entry.compressedSize, uncompressed: entry.uncompressedSize,
                limit: "a \(TorchZipLimits.maxCompressionRatio):1 ratio")
        }
        do {
            return try file.withBytes(fileRange(of: entry)) { try Zlib.inflateRaw($0, expectedSize: Int(entry.uncompressedSize)) }
        } catch let failure as Zlib.InflateFailure {
            let reason: String
            switch failure {
            case .zlib(let code, let message): reason = "zlib error \(code): \(message)"
            case .tooLarge(let limit): reason = "the stream inflates to more than the declared \(limit) bytes"
            case .truncated: reason = "the deflate stream ends early"
            case .short(let expected, let found): reason = "expected \(expected) bytes, the stream holds \(found)"
            }
            throw TorchZipError.inflateFailed(file: label, name: entry.name, reason: reason)
        }
    }
}
