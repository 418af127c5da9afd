import Foundation
import Testing
@testable import MoECheckpoint

@Suite struct TorchZipTests {
    /// A small archive as torch writes it: data.pkl first, aligned records, ZIP64 end records.
    func torchStyleArchive(in folder: TemporaryFolder, name: String = "small.pt") throws -> String {
        let path = folder.path(name)
        let writer = try TorchZipWriter(path: path, archiveName: "small")
        try writer.addRecord("data.pkl", bytes: PickleBytes.make { $0.op(0x4E) })
        try writer.addRecord("byteorder", bytes: Array("little".utf8))
        try writer.addRecord("data/0", source: InMemoryTensor(floats: [1, 2, 3, 4, 5], shape: [5]))
        try writer.addRecord("version", bytes: Array("3\n".utf8))
        try writer.finish()
        return path
    }

    @Test func writtenArchivesAlignEveryRecordTo64BytesAndReadBack() throws {
        let folder = try TemporaryFolder()
        let archive = try ZipArchive(path: try torchStyleArchive(in: folder))
        #expect(archive.folder == "small")
        #expect(archive.recordNames == ["data.pkl", "byteorder", "data/0", "version"])
        for entry in archive.entries {
            #expect(entry.dataOffset % 64 == 0)
            #expect(entry.flags == 0x0808)
        }
        let data = try archive.requireEntry("data/0")
        let floats = try archive.withRecord(data) { try DTypeConversion.toFloat32($0, dtype: .float32) }
        #expect(floats == [1, 2, 3, 4, 5])
    }

    @Test(.enabled(if: Fixtures.available, "no fixtures found"))
    func rewritingEveryRecordOfATorchFileReproducesItByteForByte() throws {
        let folder = try TemporaryFolder()
        for url in Fixtures.ptFiles.prefix(12) {
            let archive = try ZipArchive(path: url.path)
            let copy = folder.path(UUID().uuidString)
            let writer = try TorchZipWriter(path: copy, archiveName: archive.folder)
            for (entry, record) in zip(archive.entries, archive.recordNames) {
                try writer.addRecord(record, bytes: try archive.readRecord(entry, limit: Int.max))
            }
            try writer.finish()
            let original = try Data(contentsOf: url)
            let rewritten = try Data(contentsOf: URL(fileURLWithPath: copy))
            #expect(original == rewritten, "\(url.path)")
        }
    }

    @Test(arguments: [(0, 10), (0x1_0000_0040, 10), (0, 0x1_0000_0000), (0xFFFF_FFFF, 0xFFFF_FFFF)])
    func localHeadersPadDataTo64BytesAlsoForZip64Entries(offset: Int, size: Int) throws {
        let header = TorchZipWriter.localHeader(name: Array("a/data/0".utf8), headerOffset: offset, size: size)
        #expect((offset + header.count) % 64 == 0)
        let zip64 = TorchZipWriter.isZip64(size: size, offset: offset)
        // The ZIP64 extra field (id 1) precedes the FB padding field.
        #expect((header[38] == 0x01 && header[39] == 0x00) == zip64)
        #expect(header.suffix(from: 38).starts(with: zip64 ? [0x01, 0x00] : [0x46, 0x42]))
    }

    @Test func deflatedEntriesOfReZippedArchivesAreInflated() throws {
        let folder = try TemporaryFolder()
        let text = Array(String(repeating: "moe-ckpt ", count: 200).utf8)
        let path = try writeFile(RawZip(entries: [.init(name: "a/data.pkl", data: text, method: 8)]).bytes(), "deflated.zip", in: folder)
        let archive = try ZipArchive(path: path)
        #expect(try archive.readRecord(archive.requireEntry("data.pkl"), limit: 1 << 20) == text)
    }

    @Test func everyTruncationOfAnArchiveIsATypedErrorNotACrash() throws {
        let folder = try TemporaryFolder()
        let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: try torchStyleArchive(in: folder))))
        for length in Array(stride(from: 0, to: bytes.count - 120, by: 5)) + Array(max(bytes.count - 120, 0)..<bytes.count) {
            let path = try writeFile(Array(bytes[0..<length]), "cut\(length).pt", in: folder)
            let error = caught { try TorchSaveFile(path: path) }
            #expect(error is TorchZipError, "length \(length): \(String(describing: error))")
        }
    }

    @Test func aMissingEndRecordIsReported() throws {
        let folder = try TemporaryFolder()
        let path = try writeFile(Array(repeating: 0, count: 100), "zeros.pt", in: folder)
        #expect(caught { try ZipArchive(path: path) } as? TorchZipError == .endRecordNotFound(file: path, size: 100))
    }

    @Test func aDotDotNameIsRefused() throws {
        let folder = try TemporaryFolder()
        let path = try writeFile(RawZip(entries: [.init(name: "a/../../etc/passwd", data: [1])]).bytes(), "dotdot.pt", in: folder)
        #expect(caught { try ZipArchive(path: path) } as? TorchZipError == .unsafeName(file: path, name: "a/../../etc/passwd", reason: "'..' component"))
    }

    @Test func absoluteAndBackslashNamesAreRefused() throws {
        let folder = try TemporaryFolder()
        let absolute = try writeFile(RawZip(entries: [.init(name: "/etc/passwd", data: [1])]).bytes(), "abs.pt", in: folder)
        #expect(caught { try ZipArchive(path: absolute) } as? TorchZipError == .unsafeName(file: absolute, name: "/etc/passwd", reason: "absolute path"))
        let backslash = try writeFile(RawZip(entries: [.init(name: "a\\b", data: [1])]).bytes(), "bs.pt", in: folder)
        #expect(caught { try ZipArchive(path: backslash) } as? TorchZipError == .unsafeName(file: backslash, name: "a\\b", reason: "contains a backslash"))
    }

    @Test func duplicateNamesAreRefused() throws {
        let folder = try TemporaryFolder()
        let path = try writeFile(RawZip(entries: [.init(name: "a/x", data: [1]), .init(name: "a/x", data: [2])]).bytes(), "dup.pt", in: folder)
        #expect(caught { try ZipArchive(path: path) } as? TorchZipError == .duplicateName(file: path, name: "a/x"))
    }

    @Test func aBadLocalHeaderSignatureIsReported() throws {
        let folder = try TemporaryFolder()
        var zip = RawZip(entries: [.init(name: "a/x", data: [1]), .init(name: "a/y", data: [2])])
        zip.entries[1].localSignature = 0xDEAD_BEEF
        let path = try writeFile(zip.bytes(), "local.pt", in: folder)
        guard case .invalidLocalHeader(_, let name, _, let expected, _) = caught({ try ZipArchive(path: path) }) as? TorchZipError else {
            Issue.record("expected invalidLocalHeader")
            return
        }
        #expect(name == "a/y")
        #expect(expected == "signature 50 4B 03 04")
    }

    @Test func aLocalNameThatDiffersFromTheDirectoryIsReported() throws {
        let folder = try TemporaryFolder()
        var zip = RawZip(entries: [.init(name: "a/x", data: [1])])
        zip.entries[0].localName = "a/z"
        let path = try writeFile(zip.bytes(), "name.pt", in: folder)
        guard case .invalidLocalHeader(_, "a/x", _, _, _) = caught({ try ZipArchive(path: path) }) as? TorchZipError else {
            Issue.record("expected invalidLocalHeader")
            return
        }
    }

    @Test func aCentralDirectoryBeyondTheEndRecordIsReported() throws {
        let folder = try TemporaryFolder()
        var zip = RawZip(entries: [.init(name: "a/x", data: [1])])
        zip.directoryOffsetDelta = 1000
        let path = try writeFile(zip.bytes(), "cd.pt", in: folder)
        guard case .centralDirectoryOutOfBounds = caught({ try ZipArchive(path: path) }) as? TorchZipError else {
            Issue.record("expected centralDirectoryOutOfBounds")
            return
        }
    }

    @Test func declaredSizesOfAZipBombAreRefusedBeforeInflating() throws {
        let folder = try TemporaryFolder()
        var zip = RawZip(entries: [.init(name: "a/data.pkl", data: Array(repeating: 0, count: 1000), method: 8)])
        zip.entries[0].declaredUncompressed = 4_000_000_000
        let path = try writeFile(zip.bytes(), "bomb.pt", in: folder)
        let archive = try ZipArchive(path: path)
        guard case .decompressionLimit(_, "a/data.pkl", _, 4_000_000_000, _) = caught({ try archive.readRecord(archive.requireEntry("data.pkl"), limit: Int.max) }) as? TorchZipError else {
            Issue.record("expected decompressionLimit")
            return
        }
    }

    @Test func aDeflateStreamLongerThanDeclaredIsRefused() throws {
        let folder = try TemporaryFolder()
        var zip = RawZip(entries: [.init(name: "a/data.pkl", data: Array(repeating: 7, count: 100), method: 8)])
        zip.entries[0].declaredUncompressed = 10
        let path = try writeFile(zip.bytes(), "long.pt", in: folder)
        let archive = try ZipArchive(path: path)
        guard case .inflateFailed = caught({ try archive.readRecord(archive.requireEntry("data.pkl"), limit: Int.max) }) as? TorchZipError else {
            Issue.record("expected inflateFailed")
            return
        }
    }

    @Test func aWrongCRCIsReportedWhenTheRecordIsRead() throws {
        let folder = try TemporaryFolder()
        var zip = RawZip(entries: [.init(name: "a/x", data: [1, 2, 3])])
        zip.entries[0].declaredCRC = 0x1234_5678
        let path = try writeFile(zip.bytes(), "crc.pt", in: folder)
        let archive = try ZipArchive(path: path)
        let error = caught { try archive.readRecord(archive.requireEntry("x"), limit: 10) } as? TorchZipError
        #expect(error == .crcMismatch(file: path, name: "a/x", expected: 0x1234_5678, found: [UInt8]([1, 2, 3]).withUnsafeBytes { Zlib.crc32($0) }))
        let unchecked = try ZipArchive(path: path, verifyCRC: false)
        #expect(try unchecked.readRecord(unchecked.requireEntry("x"), limit: 10) == [1, 2, 3])
    }

    @Test func encryptedEntriesAreRefused() throws {
        let folder = try TemporaryFolder()
        var zip = RawZip(entries: [.init(name: "a/x", data: [1])])
        zip.entries[0].flags = 0x0801
        let path = try writeFile(zip.bytes(), "enc.pt", in: folder)
        #expect(caught { try ZipArchive(path: path) } as? TorchZipError == .unsupportedFlags(file: path, name: "a/x", flags: 0x0801))
    }

    @Test func aFirstEntryOutsideAFolderIsRefused() throws {
        let folder = try TemporaryFolder()
        let path = try writeFile(RawZip(entries: [.init(name: "data.pkl", data: [1])]).bytes(), "flat.pt", in: folder)
        #expect(caught { try ZipArchive(path: path) } as? TorchZipError == .noArchiveFolder(file: path, firstName: "data.pkl"))
    }
}
