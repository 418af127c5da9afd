/// Parses and validates the end records, central directory and local headers of a zip archive
/// held in memory (`formats.md` §1.3, §6.1).
///
/// Every offset read from the archive goes through `ByteReader`, every size is checked against
/// the bytes that can back it before anything is allocated, and every loop over a declared count
/// is capped by the directory size, so a hostile archive ends in a `TorchZipError`, never a crash.
struct ZipDirectoryParser {
    let bytes: UnsafeRawBufferPointer
    /// The name used in messages.
    let file: String

    /// The validated entries (central-directory order) and the archive folder.
    func parse() throws -> (entries: [ZipEntry], folder: String) {
        let end = try readEndRecords()
        var entries = try readCentralDirectory(end)
        let folder = try archiveFolder(entries)
        entries = try entries.map { try resolveLocalHeader($0, directoryOffset: end.directoryOffset) }
        try checkOverlaps(entries)
        return (entries, folder)
    }

    // MARK: - End records

    /// What the end records say about the central directory.
    struct EndRecords {
        var entryCount: UInt64
        var directorySize: UInt64
        var directoryOffset: Int
    }

    private func u32(at offset: Int) -> UInt32? {
        var reader = ByteReader(bytes, offset: offset)
        return try? reader.readLE(UInt32.self)
    }

    /// Finds the classic end record by scanning back at most a maximal comment's length; the
    /// comment length must reach the end of the archive exactly.
    private func findEndRecord() throws -> Int {
        let size = bytes.count
        guard size >= ZipFormat.endRecordSize else { throw TorchZipError.endRecordNotFound(file: file, size: size) }
        let lowest = max(0, size - TorchZipLimits.endRecordSearch)
        var offset = size - ZipFormat.endRecordSize
        while offset >= lowest {
            if u32(at: offset) == ZipFormat.endRecordSignature {
                var reader = ByteReader(bytes, offset: offset + 20)
                if let comment = try? reader.readLE(UInt16.self), Int(comment) == size - offset - ZipFormat.endRecordSize {
                    return offset
                }
            }
            offset -= 1
        }
        throw TorchZipError.endRecordNotFound(file: file, size: size)
    }

    private func readEndRecords() throws -> EndRecords {
        let endOffset = try findEndRecord()
        var reader = ByteReader(bytes, offset: endOffset + 4)
        let disk = try reader.readLE(UInt16.self)
        let directoryDisk = try reader.readLE(UInt16.self)
        let entriesOnDisk = try reader.readLE(UInt16.self)
        let totalEntries = try reader.readLE(UInt16.self)
        let directorySize = try reader.readLE(UInt32.self)
        let directoryOffset = try reader.readLE(UInt32.self)
        var records = EndRecords(entryCount: UInt64(totalEntries), directorySize: UInt64(directorySize), directoryOffset: Int(directoryOffset))
        var directoryLimit = endOffset
        let needsZip64 = totalEntries == ZipFormat.sentinel16 || directorySize == ZipFormat.sentinel32 || directoryOffset == ZipFormat.sentinel32
        let locatorOffset = endOffset - ZipFormat.zip64LocatorSize
        if locatorOffset >= 0, u32(at: locatorOffset) == ZipFormat.zip64LocatorSignature {
            let zip64 = try readZip64(locatorOffset: locatorOffset)
            records.entryCount = try merge("entry count", classic: totalEntries == ZipFormat.sentinel16 ? nil : UInt64(totalEntries), zip64: zip64.entryCount, at: endOffset)
            records.directorySize = try merge("central directory size", classic: directorySize == ZipFormat.sentinel32 ? nil : UInt64(directorySize), zip64: zip64.directorySize, at: endOffset)
            let offset = try merge("central directory offset", classic: directoryOffset == ZipFormat.sentinel32 ? nil : UInt64(directoryOffset), zip64: UInt64(zip64.directoryOffset), at: endOffset)
            records.directoryOffset = Int(offset)
            directoryLimit = zip64.recordOffset
        } else {
            if needsZip64 {
                throw TorchZipError.invalidEndRecord(
                    file: file, record: "end of central directory", offset: endOffset,
                    expected: "a ZIP64 locator before it (its fields hold 0xFFFF/0xFFFFFFFF)", found: "none")
            }
            guard disk == 0, directoryDisk == 0 else { throw TorchZipError.multiDisk(file: file, disk: UInt64(max(disk, directoryDisk))) }
            guard entriesOnDisk == totalEntries else {
                throw TorchZipError.invalidEndRecord(
                    file: file, record: "end of central directory", offset: endOffset,
                    expected: "\(totalEntries) entries on this disk", found: "\(entriesOnDisk)")
            }
        }
        let (directoryEnd, overflow) = UInt64(records.directoryOffset).addingReportingOverflow(records.directorySize)
        guard !overflow, directoryEnd <= UInt64(directoryLimit) else {
            throw TorchZipError.centralDirectoryOutOfBounds(
                file: file, offset: UInt64(records.directoryOffset), size: records.directorySize, limit: directoryLimit)
        }
        let fitting = Int(records.directorySize) / ZipFormat.centralHeaderSize
        guard records.entryCount <= UInt64(TorchZipLimits.maxEntries), records.entryCount <= UInt64(fitting) else {
            throw TorchZipError.tooManyEntries(file: file, count: records.entryCount, limit: min(TorchZipLimits.maxEntries, fitting))
        }
        return records
    }

    /// The ZIP64 end record, located through its locator.
    private func readZip64(locatorOffset: Int) throws -> (entryCount: UInt64, directorySize: UInt64, directoryOffset: Int, recordOffset: Int) {
        var locator = ByteReader(bytes, offset: locatorOffset + 4)
        let recordDisk = try locator.readLE(UInt32.self)
        let recordOffset = try locator.readLE(UInt64.self)
        let totalDisks = try locator.readLE(UInt32.self)
        guard recordDisk == 0, totalDisks <= 1 else { throw TorchZipError.multiDisk(file: file, disk: UInt64(max(recordDisk, totalDisks))) }
        let latest = locatorOffset - ZipFormat.zip64EndRecordSize
        guard latest >= 0, recordOffset <= UInt64(latest) else {
            throw TorchZipError.invalidEndRecord(
                file: file, record: "ZIP64 end locator", offset: locatorOffset,
                expected: "a ZIP64 end record offset at most \(max(latest, 0))", found: "\(recordOffset)")
        }
        let start = Int(recordOffset)
        guard u32(at: start) == ZipFormat.zip64EndRecordSignature else {
            throw TorchZipError.invalidEndRecord(
                file: file, record: "ZIP64 end record", offset: start, expected: "signature 50 4B 06 06",
                found: u32(at: start).map { "0x" + String($0, radix: 16) } ?? "end of data")
        }
        var reader = ByteReader(bytes, offset: start + 4)
        let recordSize = try reader.readLE(UInt64.self)
        guard recordSize >= 44, recordSize <= UInt64(locatorOffset - start - 12) else {
            throw TorchZipError.invalidEndRecord(
                file: file, record: "ZIP64 end record", offset: start,
                expected: "a record size from 44 to \(locatorOffset - start - 12)", found: "\(recordSize)")
        }
        _ = try reader.readLE(UInt16.self)  // version made by
        _ = try reader.readLE(UInt16.self)  // version needed
        let disk = try reader.readLE(UInt32.self)
        let directoryDisk = try reader.readLE(UInt32.self)
        let entriesOnDisk = try reader.readLE(UInt64.self)
        let totalEntries = try reader.readLE(UInt64.self)
        let directorySize = try reader.readLE(UInt64.self)
        let directoryOffset = try reader.readLE(UInt64.self)
        guard disk == 0, directoryDisk == 0 else { throw TorchZipError.multiDisk(file: file, disk: UInt64(max(disk, directoryDisk))) }
        guard entriesOnDisk == totalEntries else {
            throw TorchZipError.invalidEndRecord(
                file: file, record: "ZIP64 end record", offset: start, expected: "\(totalEntries) entries on this disk", found: "\(entriesOnDisk)")
        }
        guard directoryOffset <= UInt64(start) else {
            throw TorchZipError.centralDirectoryOutOfBounds(file: file, offset: directoryOffset, size: directorySize, limit: start)
        }
        return (totalEntries, directorySize, Int(directoryOffset), start)
    }

    /// A classic field must either be the 0xFFFF… sentinel or agree with the ZIP64 record.
    private func merge(_ field: String, classic: UInt64?, zip64: UInt64, at offset: Int) throws -> UInt64 {
        if let classic, classic != zip64 {
            throw TorchZipError.invalidEndRecord(
                file: file, record: "end of central directory", offset: offset,
                expected: "\(field) \(zip64) as in the ZIP64 end record", found: "\(classic)")
        }
        return zip64
    }

    // MARK: - Central directory

    private func readCentralDirectory(_ end: EndRecords) throws -> [ZipEntry] {
        var reader = ByteReader(bytes, offset: end.directoryOffset)
        let directoryEnd = end.directoryOffset + Int(end.directorySize)
        var entries: [ZipEntry] = []
        entries.reserveCapacity(Int(end.entryCount))
        var seen: [String: Int] = [:]
        for index in 0..<Int(end.entryCount) {
            let start = reader.offset
            guard directoryEnd - start >= ZipFormat.centralHeaderSize else {
                throw TorchZipError.invalidCentralEntry(
                    file: file, index: index, offset: start, expected: "a 46-byte header", found: "\(directoryEnd - start) bytes left in the directory")
            }
            let signature = try reader.readLE(UInt32.self)
            guard signature == ZipFormat.centralHeaderSignature else {
                throw TorchZipError.invalidCentralEntry(
                    file: file, index: index, offset: start, expected: "signature 50 4B 01 02", found: "0x" + String(signature, radix: 16))
            }
            _ = try reader.readLE(UInt16.self)  // version made by
            _ = try reader.readLE(UInt16.self)  // version needed
            let flags = try reader.readLE(UInt16.self)
            let method = try reader.readLE(UInt16.self)
            _ = try reader.readLE(UInt32.self)  // time, date
            let crc = try reader.readLE(UInt32.self)
            let compressed32 = try reader.readLE(UInt32.self)
            let uncompressed32 = try reader.readLE(UInt32.self)
            let nameLength = Int(try reader.readLE(UInt16.self))
            let extraLength = Int(try reader.readLE(UInt16.self))
            let commentLength = Int(try reader.readLE(UInt16.self))
            let diskStart = try reader.readLE(UInt16.self)
            _ = try reader.readLE(UInt16.self)  // internal attributes
            _ = try reader.readLE(UInt32.self)  // external attributes
            let offset32 = try reader.readLE(UInt32.self)
            guard nameLength <= TorchZipLimits.maxNameBytes else {
                throw TorchZipError.nameTooLong(file: file, index: index, length: nameLength, limit: TorchZipLimits.maxNameBytes)
            }
            guard directoryEnd - reader.offset >= nameLength + extraLength + commentLength else {
                throw TorchZipError.invalidCentralEntry(
                    file: file, index: index, offset: start, expected: "\(nameLength + extraLength + commentLength) bytes of name, extra and comment",
                    found: "\(directoryEnd - reader.offset) bytes left in the directory")
            }
            let nameBytes = try reader.slice(nameLength)
            let name = try validatedName(nameBytes)
            let extra = try reader.slice(extraLength)
            _ = try reader.slice(commentLength)
            var compressed = UInt64(compressed32)
            var uncompressed = UInt64(uncompressed32)
            var headerOffset = UInt64(offset32)
            var disk = UInt32(diskStart)
            if uncompressed32 == ZipFormat.sentinel32 || compressed32 == ZipFormat.sentinel32 || offset32 == ZipFormat.sentinel32 || diskStart == ZipFormat.sentinel16 {
                var fields = try zip64Extra(extra, name: name)
                func next(_ what: String) throws -> UInt64 {
                    guard let value = try fields.take() else {
                        throw TorchZipError.invalidCentralEntry(
                            file: file, index: index, offset: start, expected: "a ZIP64 extra field holding the \(what)", found: "none")
                    }
                    return value
                }
                if uncompressed32 == ZipFormat.sentinel32 { uncompressed = try next("uncompressed size") }
                if compressed32 == ZipFormat.sentinel32 { compressed = try next("compressed size") }
                if offset32 == ZipFormat.sentinel32 { headerOffset = try next("local header offset") }
                if diskStart == ZipFormat.sentinel16 { disk = UInt32(truncatingIfNeeded: try next("disk number")) }
            }
            guard disk == 0 else { throw TorchZipError.multiDisk(file: file, disk: UInt64(disk)) }
            guard flags & ZipFormat.flagsUnsupported == 0 else { throw TorchZipError.unsupportedFlags(file: file, name: name, flags: flags) }
            guard method == ZipFormat.methodStored || method == ZipFormat.methodDeflate else {
                throw TorchZipError.unsupportedMethod(file: file, name: name, method: method)
            }
            if method == ZipFormat.methodStored, compressed != uncompressed {
                throw TorchZipError.storedSizeMismatch(file: file, name: name, compressed: compressed, uncompressed: uncompressed)
            }
            guard headerOffset <= UInt64(end.directoryOffset), compressed <= UInt64(end.directoryOffset) else {
                throw TorchZipError.dataOutOfBounds(file: file, name: name, offset: Int(min(headerOffset, UInt64(Int.max))), size: compressed, limit: end.directoryOffset)
            }
            if seen.updateValue(index, forKey: name) != nil { throw TorchZipError.duplicateName(file: file, name: name) }
            entries.append(ZipEntry(
                index: index, name: name, flags: flags, method: method, crc32: crc, compressedSize: compressed,
                uncompressedSize: uncompressed, headerOffset: Int(headerOffset), dataOffset: -1))
        }
        let parsed = reader.offset - end.directoryOffset
        guard parsed == Int(end.directorySize) else {
            throw TorchZipError.centralDirectorySizeMismatch(file: file, declared: end.directorySize, parsed: parsed)
        }
        return entries
    }

    /// The 64-bit values of a ZIP64 extra field, in the order the APPNOTE gives them.
    private struct Zip64Fields {
        var reader: ByteReader?
        mutating func take() throws -> UInt64? {
            guard var r = reader, r.remaining >= 8 else { return nil }
            let value = try r.readLE(UInt64.self)
            reader = r
            return value
        }
    }

    private func zip64Extra(_ extra: UnsafeRawBufferPointer, name: String) throws -> Zip64Fields {
        var reader = ByteReader(extra)
        while reader.remaining >= 4 {
            let id = try reader.readLE(UInt16.self)
            let length = Int(try reader.readLE(UInt16.self))
            guard reader.remaining >= length else { break }
            let payload = try reader.slice(length)
            if id == ZipFormat.zip64ExtraID { return Zip64Fields(reader: ByteReader(payload)) }
        }
        return Zip64Fields(reader: nil)
    }

    /// Decodes a name and refuses anything that could escape a folder or be read two ways.
    private func validatedName(_ raw: UnsafeRawBufferPointer) throws -> String {
        let name = String(decoding: raw, as: UTF8.self)
        guard name.utf8.elementsEqual(raw) else { throw TorchZipError.unsafeName(file: file, name: name, reason: "not valid UTF-8") }
        if name.isEmpty { throw TorchZipError.unsafeName(file: file, name: name, reason: "empty name") }
        if raw.contains(0) { throw TorchZipError.unsafeName(file: file, name: name, reason: "contains a NUL byte") }
        if raw.contains(UInt8(ascii: "\\")) { throw TorchZipError.unsafeName(file: file, name: name, reason: "contains a backslash") }
        if raw.first == UInt8(ascii: "/") { throw TorchZipError.unsafeName(file: file, name: name, reason: "absolute path") }
        if raw.count >= 2, raw[1] == UInt8(ascii: ":") { throw TorchZipError.unsafeName(file: file, name: name, reason: "drive-letter path") }
        if name.split(separator: "/", omittingEmptySubsequences: false).contains("..") {
            throw TorchZipError.unsafeName(file: file, name: name, reason: "'..' component")
        }
        return name
    }

    /// The archive name: the text before the first `/` of the first entry; every entry must be
    /// under it (`PyTorchStreamReader::init`).
    private func archiveFolder(_ entries: [ZipEntry]) throws -> String {
        guard let first = entries.first else { return "" }
        guard let slash = first.name.firstIndex(of: "/"), slash != first.name.startIndex else {
            throw TorchZipError.noArchiveFolder(file: file, firstName: first.name)
        }
        let folder = String(first.name[..<slash])
        for entry in entries where !entry.name.hasPrefix(folder + "/") {
            throw TorchZipError.outsideArchiveFolder(file: file, name: entry.name, folder: folder)
        }
        return folder
    }

    // MARK: - Local headers

    /// Checks the local header against the central directory and finds where the data starts.
    private func resolveLocalHeader(_ entry: ZipEntry, directoryOffset: Int) throws -> ZipEntry {
        let offset = entry.headerOffset
        func bad(_ expected: String, _ found: String) -> TorchZipError {
            .invalidLocalHeader(file: file, name: entry.name, offset: offset, expected: expected, found: found)
        }
        guard directoryOffset - offset >= ZipFormat.localHeaderSize else {
            throw bad("a 30-byte local header before the central directory", "\(directoryOffset - offset) bytes")
        }
        var reader = ByteReader(bytes, offset: offset)
        let signature = try reader.readLE(UInt32.self)
        guard signature == ZipFormat.localHeaderSignature else { throw bad("signature 50 4B 03 04", "0x" + String(signature, radix: 16)) }
        _ = try reader.readLE(UInt16.self)  // version needed
        let flags = try reader.readLE(UInt16.self)
        let method = try reader.readLE(UInt16.self)
        _ = try reader.readLE(UInt32.self)  // time, date
        let crc = try reader.readLE(UInt32.self)
        let compressed = try reader.readLE(UInt32.self)
        let uncompressed = try reader.readLE(UInt32.self)
        let nameLength = Int(try reader.readLE(UInt16.self))
        let extraLength = Int(try reader.readLE(UInt16.self))
        guard method == entry.method else { throw bad("method \(entry.method) as in the central directory", "\(method)") }
        guard directoryOffset - reader.offset >= nameLength + extraLength else {
            throw bad("\(nameLength + extraLength) bytes of name and extra field", "\(directoryOffset - reader.offset) before the central directory")
        }
        let name = try reader.slice(nameLength)
        guard name.elementsEqual(entry.name.utf8) else {
            throw bad("name '\(entry.name)' as in the central directory", "'\(String(decoding: name, as: UTF8.self))'")
        }
        _ = try reader.slice(extraLength)
        if flags & ZipFormat.flagDataDescriptor == 0 {
            // Without a descriptor the local header carries the real values (or ZIP64 sentinels).
            let sizesAgree = (compressed == ZipFormat.sentinel32 || UInt64(compressed) == entry.compressedSize)
                && (uncompressed == ZipFormat.sentinel32 || UInt64(uncompressed) == entry.uncompressedSize)
            guard crc == entry.crc32, sizesAgree else {
                throw bad("CRC 0x\(String(entry.crc32, radix: 16)) and sizes \(entry.compressedSize)/\(entry.uncompressedSize) as in the central directory",
                          "CRC 0x\(String(crc, radix: 16)) and sizes \(compressed)/\(uncompressed)")
            }
        }
        let dataOffset = reader.offset
        guard entry.compressedSize <= UInt64(directoryOffset - dataOffset) else {
            throw TorchZipError.dataOutOfBounds(file: file, name: entry.name, offset: dataOffset, size: entry.compressedSize, limit: directoryOffset)
        }
        return ZipEntry(
            index: entry.index, name: entry.name, flags: entry.flags, method: entry.method, crc32: entry.crc32,
            compressedSize: entry.compressedSize, uncompressedSize: entry.uncompressedSize,
            headerOffset: entry.headerOffset, dataOffset: dataOffset)
    }

    /// No two entries may share bytes: a polyglot or a quine-style bomb reuses data.
    private func checkOverlaps(_ entries: [ZipEntry]) throws {
        let ordered = entries.sorted { $0.headerOffset < $1.headerOffset }
        for (previous, next) in zip(ordered, ordered.dropFirst()) where previous.dataRange.upperBound > next.headerOffset {
            throw TorchZipError.overlappingEntries(file: file, name: next.name, other: previous.name)
        }
    }
}
