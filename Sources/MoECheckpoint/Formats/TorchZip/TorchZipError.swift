/// One case per rule of a torch.save zip archive that a file can break (`formats.md` §1.3,
/// §6.1). Every case names the file, the record or structure, what was expected and what was
/// found, so the CLI can print it as one line.
public enum TorchZipError: Error, Equatable, Sendable {
    /// No end-of-central-directory record in the last 64 KiB + 22 bytes (not a zip, or truncated).
    case endRecordNotFound(file: String, size: Int)
    /// An end record (classic, ZIP64 locator or ZIP64 record) is malformed or disagrees with another.
    case invalidEndRecord(file: String, record: String, offset: Int, expected: String, found: String)
    /// The archive spans several disks.
    case multiDisk(file: String, disk: UInt64)
    /// The central directory does not lie between the start of the file and the end records.
    case centralDirectoryOutOfBounds(file: String, offset: UInt64, size: UInt64, limit: Int)
    /// More entries than `TorchZipLimits.maxEntries`, or more than the directory can hold.
    case tooManyEntries(file: String, count: UInt64, limit: Int)
    /// A central-directory entry is cut short or has a bad signature.
    case invalidCentralEntry(file: String, index: Int, offset: Int, expected: String, found: String)
    /// The entries parsed do not fill the declared central directory exactly.
    case centralDirectorySizeMismatch(file: String, declared: UInt64, parsed: Int)
    /// A name longer than `TorchZipLimits.maxNameBytes`.
    case nameTooLong(file: String, index: Int, length: Int, limit: Int)
    /// A name that could escape a folder or confuse a reader (`..`, absolute, backslash, NUL, not UTF-8).
    case unsafeName(file: String, name: String, reason: String)
    /// Two entries share one name.
    case duplicateName(file: String, name: String)
    /// An entry is encrypted or uses patched data (flag bits 0, 5, 6).
    case unsupportedFlags(file: String, name: String, flags: UInt16)
    /// A compression method other than stored (0) or deflate (8).
    case unsupportedMethod(file: String, name: String, method: UInt16)
    /// A stored entry whose compressed and uncompressed sizes differ.
    case storedSizeMismatch(file: String, name: String, compressed: UInt64, uncompressed: UInt64)
    /// The local header of an entry is missing, cut short or disagrees with the central directory.
    case invalidLocalHeader(file: String, name: String, offset: Int, expected: String, found: String)
    /// An entry's data runs past the central directory or the end of the file.
    case dataOutOfBounds(file: String, name: String, offset: Int, size: UInt64, limit: Int)
    /// Two entries' bytes overlap.
    case overlappingEntries(file: String, name: String, other: String)
    /// The first entry is not inside a folder, so there is no archive name.
    case noArchiveFolder(file: String, firstName: String)
    /// An entry lies outside the archive folder named by the first entry.
    case outsideArchiveFolder(file: String, name: String, folder: String)
    /// A deflated entry could not be inflated.
    case inflateFailed(file: String, name: String, reason: String)
    /// A deflated entry declares more than the limits allow (size or ratio: a zip bomb).
    case decompressionLimit(file: String, name: String, compressed: UInt64, uncompressed: UInt64, limit: String)
    /// A record's CRC-32 does not match the central directory.
    case crcMismatch(file: String, name: String, expected: UInt32, found: UInt32)
    /// A record torch needs is absent.
    case missingRecord(file: String, name: String)
    /// A record is larger than its limit (`data.pkl`, `version`, `byteorder`).
    case recordTooLarge(file: String, name: String, size: UInt64, limit: Int)
    /// A small text record has a value torch would reject.
    case invalidRecord(file: String, name: String, expected: String, found: String)
}

extension TorchZipError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .endRecordNotFound(let file, let size):
            return "\(file): not a zip archive or truncated: expected an end-of-central-directory record in the last 65557 bytes, found none in \(size) bytes"
        case .invalidEndRecord(let file, let record, let offset, let expected, let found):
            return "\(file): \(record) at byte \(offset): expected \(expected), found \(found)"
        case .multiDisk(let file, let disk):
            return "\(file): multi-disk zip archives are not supported (disk \(disk))"
        case .centralDirectoryOutOfBounds(let file, let offset, let size, let limit):
            return "\(file): central directory at byte \(offset) with \(size) bytes must end by byte \(limit) (the end records)"
        case .tooManyEntries(let file, let count, let limit):
            return "\(file): \(count) zip entries declared, at most \(limit) allowed"
        case .invalidCentralEntry(let file, let index, let offset, let expected, let found):
            return "\(file): central directory entry \(index) at byte \(offset): expected \(expected), found \(found)"
        case .centralDirectorySizeMismatch(let file, let declared, let parsed):
            return "\(file): central directory declares \(declared) bytes, its entries take \(parsed)"
        case .nameTooLong(let file, let index, let length, let limit):
            return "\(file): zip entry \(index): name of \(length) bytes exceeds the limit of \(limit)"
        case .unsafeName(let file, let name, let reason):
            return "\(file): zip entry '\(name)': unsafe name: \(reason)"
        case .duplicateName(let file, let name):
            return "\(file): zip entry '\(name)' appears twice"
        case .unsupportedFlags(let file, let name, let flags):
            return "\(file): zip entry '\(name)': encrypted or patched entries are not supported (flags 0x\(String(flags, radix: 16)))"
        case .unsupportedMethod(let file, let name, let method):
            return "\(file): zip entry '\(name)': expected compression method 0 (stored) or 8 (deflate), found \(method)"
        case .storedSizeMismatch(let file, let name, let compressed, let uncompressed):
            return "\(file): zip entry '\(name)': stored entry must have equal sizes, found compressed \(compressed) and uncompressed \(uncompressed)"
        case .invalidLocalHeader(let file, let name, let offset, let expected, let found):
            return "\(file): zip entry '\(name)': local header at byte \(offset): expected \(expected), found \(found)"
        case .dataOutOfBounds(let file, let name, let offset, let size, let limit):
            return "\(file): zip entry '\(name)': \(size) data bytes at byte \(offset) run past byte \(limit)"
        case .overlappingEntries(let file, let name, let other):
            return "\(file): zip entry '\(name)' overlaps entry '\(other)'"
        case .noArchiveFolder(let file, let firstName):
            return "\(file): expected the first zip entry inside an archive folder ('<name>/data.pkl'), found '\(firstName)'"
        case .outsideArchiveFolder(let file, let name, let folder):
            return "\(file): zip entry '\(name)' is outside the archive folder '\(folder)/'"
        case .inflateFailed(let file, let name, let reason):
            return "\(file): zip entry '\(name)': cannot inflate: \(reason)"
        case .decompressionLimit(let file, let name, let compressed, let uncompressed, let limit):
            return "\(file): zip entry '\(name)': \(compressed) compressed bytes declare \(uncompressed) uncompressed, beyond \(limit) (zip bomb?)"
        case .crcMismatch(let file, let name, let expected, let found):
            return "\(file): zip entry '\(name)': CRC-32 expected 0x\(hex(expected)), found 0x\(hex(found))"
        case .missingRecord(let file, let name):
            return "\(file): torch.save archive has no '\(name)' record"
        case .recordTooLarge(let file, let name, let size, let limit):
            return "\(file): record '\(name)' has \(size) bytes, at most \(limit) allowed"
        case .invalidRecord(let file, let name, let expected, let found):
            return "\(file): record '\(name)': expected \(expected), found \(found)"
        }
    }

    private func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }
}

/// Named limits of the zip reader (`formats.md` §6.1).
public enum TorchZipLimits {
    /// How far back from the end the end record may sit (a maximal comment plus the record).
    public static let endRecordSearch = 65_535 + 22
    /// Most entries an archive may declare.
    public static let maxEntries = 1_000_000
    /// Longest entry name.
    public static let maxNameBytes = 4096
    /// Largest uncompressed size of one deflated entry (memory is allocated up front).
    public static let maxInflatedBytes = 1 << 32
    /// Most uncompressed bytes per compressed byte (a deflate stream reaches ~1032:1 at best).
    public static let maxCompressionRatio: UInt64 = 1000
    /// Largest `data.pkl`.
    public static let maxPickleBytes = 1 << 30
    /// Largest small text record (`version`, `byteorder`, `.format_version`).
    public static let maxTextRecordBytes = 64
}
