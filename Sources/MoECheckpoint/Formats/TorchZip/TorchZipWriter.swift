/// Writes a zip archive byte for byte the way torch's `PyTorchStreamWriter` (miniz) does
/// (`formats.md` §1.3): every record under one archive folder, stored, its data 64-byte aligned
/// by an "FB" extra field padded with `Z`, flags `0x0808`, zero times and deferred CRC/sizes in
/// the local header, a data descriptor after the data, and the ZIP64 end records always.
///
/// Records are streamed: a tensor goes from its source to the file in one pass, its CRC-32
/// computed on the way, so memory stays bounded by the largest tensor's source.
public final class TorchZipWriter {
    /// Where the archive is written.
    public let path: String
    /// The folder every record goes in (torch uses the file stem).
    public let archiveName: String
    /// Alignment of every record's data (`kFieldAlignment`).
    public static let alignment = 64

    private let output: OutputFile
    /// Where the archive starts in `output` (non-zero for DCP items appended to a `.distcp`).
    private let base: Int
    /// Whether `finish` closes the file (it does not for archives appended to a shared file).
    private let ownsOutput: Bool
    private var records: [WrittenRecord] = []
    private var names = Set<String>()

    /// What the central directory needs to know about a written record.
    private struct WrittenRecord {
        let name: [UInt8]
        let headerOffset: Int
        let size: Int
        let crc: UInt32
    }

    /// Creates the archive file (which must not exist yet).
    public convenience init(path: String, archiveName: String) throws {
        self.init(owning: try OutputFile(creating: path), archiveName: archiveName)
    }

    /// Writes the archive as the whole of `output` and closes it on `finish`.
    public init(owning output: OutputFile, archiveName: String) {
        self.path = output.path
        self.archiveName = archiveName
        self.output = output
        base = 0
        ownsOutput = true
    }

    /// Appends an archive to `output` at its current position, as DCP stores each item inside a
    /// `.distcp` file: offsets and alignment are relative to the archive's start, and `finish`
    /// leaves the file open for the next item.
    public init(appendingTo output: OutputFile, archiveName: String) {
        self.path = output.path
        self.archiveName = archiveName
        self.output = output
        base = output.position
        ownsOutput = false
    }

    /// Bytes written so far, from the archive's start.
    public var size: Int { output.position - base }

    /// CRC-32s of the records written so far, in order (torch derives `serialization_id` from them).
    public var recordCRCs: [UInt32] { records.map(\.crc) }

    /// Writes a small record held in memory.
    public func addRecord(_ record: String, bytes: [UInt8]) throws {
        try addRecord(record, size: bytes.count) { emit in try bytes.withUnsafeBytes { try emit($0) } }
    }

    /// Streams a tensor's bytes as a record (a source handing out another size is caught below).
    public func addRecord(_ record: String, source: any TensorSource) throws {
        try addRecord(record, size: source.byteCount) { emit in try source.withBytes { try emit($0) } }
    }

    /// Writes a record of exactly `size` bytes, produced by `produce` through the `emit` it is given.
    public func addRecord(_ record: String, size: Int, produce: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        let name = Array((archiveName + "/" + record).utf8)
        precondition(names.insert(archiveName + "/" + record).inserted, "record \(record) written twice")
        let headerOffset = output.position - base
        try output.write(Self.localHeader(name: name, headerOffset: headerOffset, size: size))
        var crc: UInt32 = 0
        var written = 0
        if output.isCounting {
            // Sizing a file another process writes: the record's size is known, its bytes are not read.
            try output.skip(size)
            written = size
        } else {
            try produce { bytes in
                crc = Zlib.crc32(bytes, continuing: crc)
                written += bytes.count
                try output.write(bytes)
            }
        }
        guard written == size else { throw FileError.shortWrite(path: path, expected: size, written: written) }
        var descriptor: [UInt8] = []
        descriptor.appendLE(ZipFormat.dataDescriptorSignature)
        descriptor.appendLE(crc)
        if Self.isZip64(size: size, offset: headerOffset) {
            descriptor.appendLE(UInt64(size))
            descriptor.appendLE(UInt64(size))
        } else {
            descriptor.appendLE(UInt32(size))
            descriptor.appendLE(UInt32(size))
        }
        try output.write(descriptor)
        records.append(WrittenRecord(name: name, headerOffset: headerOffset, size: size, crc: crc))
    }

    /// Writes the central directory and the end records, then flushes and closes the file.
    public func finish() throws {
        let directoryOffset = output.position - base
        var directory: [UInt8] = []
        for record in records {
            let largeSize = record.size >= Int(ZipFormat.sentinel32)
            let largeOffset = record.headerOffset >= Int(ZipFormat.sentinel32)
            var extra: [UInt8] = []
            if largeSize || largeOffset {
                extra.appendLE(ZipFormat.zip64ExtraID)
                extra.appendLE(UInt16((largeSize ? 16 : 0) + (largeOffset ? 8 : 0)))
                if largeSize {
                    extra.appendLE(UInt64(record.size))
                    extra.appendLE(UInt64(record.size))
                }
                if largeOffset { extra.appendLE(UInt64(record.headerOffset)) }
            }
            directory.appendLE(ZipFormat.centralHeaderSignature)
            directory.appendLE(UInt16(0))  // version made by
            directory.appendLE(UInt16(extra.isEmpty ? 0 : 45))  // version needed
            directory.appendLE(Self.flags)
            directory.appendLE(ZipFormat.methodStored)
            directory.appendLE(UInt32(0))  // time, date
            directory.appendLE(record.crc)
            directory.appendLE(largeSize ? ZipFormat.sentinel32 : UInt32(record.size))
            directory.appendLE(largeSize ? ZipFormat.sentinel32 : UInt32(record.size))
            directory.appendLE(UInt16(record.name.count))
            directory.appendLE(UInt16(extra.count))
            directory.appendLE(UInt16(0))  // comment
            directory.appendLE(UInt16(0))  // disk
            directory.appendLE(UInt16(0))  // internal attributes
            directory.appendLE(UInt32(0))  // external attributes
            directory.appendLE(largeOffset ? ZipFormat.sentinel32 : UInt32(record.headerOffset))
            directory += record.name
            directory += extra
        }
        try output.write(directory)
        let zip64Offset = output.position - base
        let count = UInt64(records.count)
        var end: [UInt8] = []
        end.appendLE(ZipFormat.zip64EndRecordSignature)
        end.appendLE(UInt64(44))
        end.appendLE(UInt16(0x031E))  // version made by, as miniz writes
        end.appendLE(UInt16(45))
        end.appendLE(UInt32(0))
        end.appendLE(UInt32(0))
        end.appendLE(count)
        end.appendLE(count)
        end.appendLE(UInt64(directory.count))
        end.appendLE(UInt64(directoryOffset))
        end.appendLE(ZipFormat.zip64LocatorSignature)
        end.appendLE(UInt32(0))
        end.appendLE(UInt64(zip64Offset))
        end.appendLE(UInt32(1))
        let smallCount = UInt16(min(count, UInt64(ZipFormat.sentinel16)))
        end.appendLE(ZipFormat.endRecordSignature)
        end.appendLE(UInt16(0))
        end.appendLE(UInt16(0))
        end.appendLE(smallCount)
        end.appendLE(smallCount)
        end.appendLE(directory.count >= Int(ZipFormat.sentinel32) ? ZipFormat.sentinel32 : UInt32(directory.count))
        end.appendLE(directoryOffset >= Int(ZipFormat.sentinel32) ? ZipFormat.sentinel32 : UInt32(directoryOffset))
        end.appendLE(UInt16(0))
        try output.write(end)
        if ownsOutput { try output.close() }
    }

    /// Bit 3 (data descriptor) and bit 11 (UTF-8 names).
    static let flags: UInt16 = ZipFormat.flagDataDescriptor | ZipFormat.flagUTF8

    static func isZip64(size: Int, offset: Int) -> Bool {
        size >= Int(ZipFormat.sentinel32) || offset >= Int(ZipFormat.sentinel32)
    }

    /// The local header, with the FB padding computed as `detail::getPadding` does.
    static func localHeader(name: [UInt8], headerOffset: Int, size: Int) -> [UInt8] {
        let largeSize = size >= Int(ZipFormat.sentinel32)
        let largeOffset = headerOffset >= Int(ZipFormat.sentinel32)
        var zip64: [UInt8] = []
        if largeSize || largeOffset {
            zip64.appendLE(ZipFormat.zip64ExtraID)
            zip64.appendLE(UInt16((largeSize ? 16 : 0) + (largeOffset ? 8 : 0)))
            if largeSize {
                zip64.appendLE(UInt64(size))
                zip64.appendLE(UInt64(size))
            }
            if largeOffset { zip64.appendLE(UInt64(headerOffset)) }
        }
        let start = headerOffset + ZipFormat.localHeaderSize + name.count + zip64.count + 4
        let padding = (alignment - start % alignment) % alignment
        var header: [UInt8] = []
        header.reserveCapacity(start - headerOffset + padding)
        header.appendLE(ZipFormat.localHeaderSignature)
        header.appendLE(UInt16(0))  // version needed
        header.appendLE(flags)
        header.appendLE(ZipFormat.methodStored)
        header.appendLE(UInt32(0))  // time, date
        header.appendLE(UInt32(0))  // CRC, deferred to the descriptor
        header.appendLE(largeSize ? ZipFormat.sentinel32 : 0)
        header.appendLE(largeSize ? ZipFormat.sentinel32 : 0)
        header.appendLE(UInt16(name.count))
        header.appendLE(UInt16(zip64.count + 4 + padding))
        header += name
        header += zip64
        header.appendLE(ZipFormat.paddingExtraID)
        header.appendLE(UInt16(padding))
        header += [UInt8](repeating: UInt8(ascii: "Z"), count: padding)
        return header
    }
}

extension Array where Element == UInt8 {
    /// Appends an integer in little-endian byte order.
    mutating func appendLE<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}
