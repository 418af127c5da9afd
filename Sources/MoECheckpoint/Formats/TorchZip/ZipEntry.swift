/// One validated entry of a zip archive, as the central directory describes it.
///
/// The central directory is the truth (`formats.md` §1.3): torch writes zeros for sizes and CRC
/// in local headers, so sizes and CRC come from here, and the local header only tells where the
/// data starts. Offsets are relative to the start of the archive (which is not the start of
/// the file for DCP items embedded in a `.distcp`).
public struct ZipEntry: Equatable, Sendable {
    /// Position in the central directory.
    public let index: Int
    /// The full name, archive folder included (`model_optim_rng/data/0`).
    public let name: String
    /// General-purpose flags (torch writes `0x0808`).
    public let flags: UInt16
    /// 0 stored, 8 deflate.
    public let method: UInt16
    /// CRC-32 of the uncompressed bytes.
    public let crc32: UInt32
    /// Bytes in the archive.
    public let compressedSize: UInt64
    /// Bytes after inflation (equal to `compressedSize` when stored).
    public let uncompressedSize: UInt64
    /// Where the local header starts.
    public let headerOffset: Int
    /// Where the entry's bytes start, after the local header, name and extra fields.
    public let dataOffset: Int

    /// Whether the bytes can be used in place (memory-mapped) without inflating.
    public var isStored: Bool { method == ZipFormat.methodStored }

    /// The entry's bytes within the archive.
    public var dataRange: Range<Int> { dataOffset..<dataOffset + Int(compressedSize) }
}

/// Signatures and constants of the zip format (PKWARE APPNOTE 6.3).
enum ZipFormat {
    static let localHeaderSignature: UInt32 = 0x0403_4B50
    static let centralHeaderSignature: UInt32 = 0x0201_4B50
    static let endRecordSignature: UInt32 = 0x0605_4B50
    static let zip64EndRecordSignature: UInt32 = 0x0606_4B50
    static let zip64LocatorSignature: UInt32 = 0x0706_4B50
    static let dataDescriptorSignature: UInt32 = 0x0807_4B50

    static let localHeaderSize = 30
    static let centralHeaderSize = 46
    static let endRecordSize = 22
    static let zip64EndRecordSize = 56
    static let zip64LocatorSize = 20

    static let methodStored: UInt16 = 0
    static let methodDeflate: UInt16 = 8

    /// Extra-field id of the ZIP64 sizes/offset field.
    static let zip64ExtraID: UInt16 = 0x0001
    /// Extra-field id torch uses to pad local headers ("FB").
    static let paddingExtraID: UInt16 = 0x4246

    /// Flag bit 3: sizes and CRC follow the data in a descriptor.
    static let flagDataDescriptor: UInt16 = 1 << 3
    /// Flag bit 11: the name is UTF-8.
    static let flagUTF8: UInt16 = 1 << 11
    /// Flag bits that mean the data cannot be read as is: encrypted (0), patched (5), strong encryption (6).
    static let flagsUnsupported: UInt16 = 1 << 0 | 1 << 5 | 1 << 6

    /// The value that says "the real value is in the ZIP64 record".
    static let sentinel32: UInt32 = 0xFFFF_FFFF
    static let sentinel16: UInt16 = 0xFFFF
}
