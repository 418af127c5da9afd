import Foundation
import Testing

@testable import MoECheckpoint

/// One test per rule a DCP folder can break (`formats.md` §6.4), each on the smallest folder
/// that breaks it, each expecting exactly that `DCPError` case.
@Suite("DCP hostile input")
struct DCPHostileTests {
    /// A valid folder: tensor `w` `[4, 2]` float32 (values 0…7) as two row chunks written by
    /// ranks 0 and 1, plus one bytes item. Returns the folder path.
    static func sample() throws -> String {
        let folder = try TemporaryFolder().url.appendingPathComponent("dcp").path
        let writer = try DCPWriter(folder: folder, flavor: .megatron)
        let source = InMemoryTensor(floats: (0..<8).map(Float.init), shape: [4, 2])
        let info = DCPTensorInfo(dtype: .float32, size: [4, 2], chunks: [DCPChunk(offsets: [0, 0], sizes: [2, 2]), DCPChunk(offsets: [2, 0], sizes: [2, 2])])
        try writer.write(DCPWriteTensor(fqn: "w", info: info, parts: [.init(source: source, chunks: [(0, 0..<16, 0), (1, 16..<32, 1)])]))
        try writer.write(object: .list(PickleList([.none])), fqn: "w._extra_state/shard_0_1", rank: 0)
        try writer.finish(checkpointID: "sample")
        return folder
    }

    /// Re-encodes `.metadata` after `mutate`.
    static func rewrite(_ folder: String, _ mutate: (inout DCPMetadata) -> Void) throws {
        var metadata = try DCPFolder(path: folder).metadata
        mutate(&metadata)
        try replaceMetadata(folder, DCPMetadataEncoder(flavor: .megatron).encode(metadata, checkpointID: "sample", saveID: "0"))
    }

    static func replaceMetadata(_ folder: String, _ value: PickleValue) throws {
        let path = (folder as NSString).appendingPathComponent(DCPFolder.metadataName)
        try FileManager.default.removeItem(atPath: path)
        try OutputFile.write(try Pickler().pickle(value), to: path)
    }

    static func setTensor(_ metadata: inout DCPMetadata, _ info: DCPTensorInfo) {
        metadata.items = metadata.items.map { $0.fqn == "w" ? ("w", .tensor(info)) : $0 }
    }

    /// Runs `body` and checks that it throws a `DCPError` that `matches`.
    func expectDCPError(_ body: () throws -> Void, _ matches: (DCPError) -> Bool, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            try body()
            Issue.record("expected a DCPError", sourceLocation: sourceLocation)
        } catch let error as DCPError {
            #expect(matches(error), "\(error)", sourceLocation: sourceLocation)
            #expect(error.description.contains("'w") || error.description.contains("class"), "\(error)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("expected a DCPError, got \(error)", sourceLocation: sourceLocation)
        }
    }

    func read(_ folder: String) throws {
        _ = try DCPFolder(path: folder).tensor("w").bytes()
    }

    @Test("the sample folder reads back")
    func sampleReads() throws {
        let folder = try DCPHostileTests.sample()
        #expect(try DCPFolder(path: folder).tensor("w").floats() == (0..<8).map(Float.init))
        #expect(try DCPFolder(path: folder).tensor("w").withBytes(in: 8..<24) { Array($0) } == (try DCPFolder(path: folder).tensor("w").bytes())[8..<24].map { $0 })
    }

    @Test("chunks that overlap")
    func overlap() throws {
        let folder = try Self.sample()
        try Self.rewrite(folder) { Self.setTensor(&$0, DCPTensorInfo(dtype: .float32, size: [4, 2], chunks: [DCPChunk(offsets: [0, 0], sizes: [3, 2]), DCPChunk(offsets: [2, 0], sizes: [2, 2])])) }
        expectDCPError({ try read(folder) }) { if case .chunksOverlap(_, "w", _, _) = $0 { return true } else { return false } }
    }

    @Test("chunks that leave holes")
    func holes() throws {
        let folder = try Self.sample()
        try Self.rewrite(folder) { Self.setTensor(&$0, DCPTensorInfo(dtype: .float32, size: [4, 2], chunks: [DCPChunk(offsets: [0, 0], sizes: [2, 2])])) }
        expectDCPError({ try read(folder) }) { if case .chunksLeaveHoles(_, "w", 8, 4) = $0 { return true } else { return false } }
    }

    @Test("a chunk outside the global shape")
    func outside() throws {
        let folder = try Self.sample()
        try Self.rewrite(folder) { Self.setTensor(&$0, DCPTensorInfo(dtype: .float32, size: [4, 2], chunks: [DCPChunk(offsets: [0, 0], sizes: [2, 2]), DCPChunk(offsets: [3, 0], sizes: [2, 2])])) }
        expectDCPError({ try read(folder) }) { if case .chunkOutOfBounds(_, "w", [3, 0], [2, 2], [4, 2]) = $0 { return true } else { return false } }
    }

    @Test("a storage_data entry past the end of its file")
    func pastEnd() throws {
        let folder = try Self.sample()
        try Self.rewrite(folder) { $0.storage[DCPStorageKey(fqn: "w", offsets: [2, 0])]?.length += 100 }
        expectDCPError({ try read(folder) }) { if case .storageOutOfFile(let file, "w", 0, _, _) = $0 { return file.hasSuffix("__1_0.distcp") } else { return false } }
    }

    @Test("a missing .distcp file")
    func missingFile() throws {
        let folder = try Self.sample()
        try FileManager.default.removeItem(atPath: (folder as NSString).appendingPathComponent("__1_0.distcp"))
        expectDCPError({ try read(folder) }) { if case .missingDataFile(_, "w", let file) = $0 { return file.hasSuffix("__1_0.distcp") } else { return false } }
    }

    @Test("a chunk without a storage_data entry")
    func missingStorage() throws {
        let folder = try Self.sample()
        try Self.rewrite(folder) { $0.storage[DCPStorageKey(fqn: "w", offsets: [2, 0])] = nil }
        expectDCPError({ try read(folder) }) { if case .missingStorage(_, "w", [2, 0]) = $0 { return true } else { return false } }
    }

    @Test("an unknown class in .metadata")
    func unknownClass() throws {
        let folder = try Self.sample()
        try Self.rewrite(folder) {
            $0.plannerData = .object(PickleInstance(callable: .global(module: "evil.payload", name: "Gadget"), args: .tuple([])))
        }
        expectDCPError({ try read(folder) }) { if case .unknownClass(_, "evil.payload.Gadget", _) = $0 { return true } else { return false } }
    }

    @Test("dtype disagreement between .metadata and the item")
    func dtypeDisagreement() throws {
        let folder = try Self.sample()
        try Self.rewrite(folder) {
            Self.setTensor(&$0, DCPTensorInfo(dtype: .int32, size: [4, 2], chunks: [DCPChunk(offsets: [0, 0], sizes: [2, 2]), DCPChunk(offsets: [2, 0], sizes: [2, 2])]))
        }
        expectDCPError({ try read(folder) }) { if case .dtypeMismatch(_, "w", "int32", "float32") = $0 { return true } else { return false } }
    }

    @Test("an item whose storage bytes disagree with its size")
    func byteLength() throws {
        let folder = try TemporaryFolder().url.appendingPathComponent("dcp").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        let output = try OutputFile(creating: (folder as NSString).appendingPathComponent("__0_0.distcp"))
        // A [2, 2] float32 tensor (16 bytes) whose storage record holds 20.
        let tensor = TorchTensorRef.dense(key: "0", dtype: .float32, shape: [2, 2])
        let bytes = [UInt8](repeating: 0, count: 20)
        var storages = TorchSaveWriter.Storages()
        storages.append(.init(key: "0", size: 20) { emit in try bytes.withUnsafeBytes { try emit($0) } })
        try TorchSaveWriter.write(.tensor(tensor), storages: storages, into: TorchZipWriter(appendingTo: output, archiveName: "archive"))
        let length = output.position
        try output.close()
        let key = DCPStorageKey(fqn: "w", offsets: [0, 0])
        let metadata = DCPMetadata(
            items: [("w", .tensor(DCPTensorInfo(dtype: .float32, size: [2, 2], chunks: [DCPChunk(offsets: [0, 0], sizes: [2, 2])])))],
            storage: [key: DCPStorageInfo(relativePath: "__0_0.distcp", offset: 0, length: length)], version: "1.0.0")
        try OutputFile.write(
            try Pickler().pickle(DCPMetadataEncoder(flavor: .megatron).encode(metadata, checkpointID: "x", saveID: "0")),
            to: (folder as NSString).appendingPathComponent(DCPFolder.metadataName))
        expectDCPError({ try read(folder) }) { if case .byteLengthMismatch(_, "w", 16, 20) = $0 { return true } else { return false } }
    }

    @Test("a relative path that leaves the folder")
    func unsafePath() throws {
        let folder = try Self.sample()
        try Self.rewrite(folder) { $0.storage[DCPStorageKey(fqn: "w", offsets: [0, 0])]?.relativePath = "../__0_0.distcp" }
        expectDCPError({ try read(folder) }) { if case .unsafePath(_, "w", "../__0_0.distcp") = $0 { return true } else { return false } }
    }

    @Test("an item whose tensor shape differs from its chunk")
    func blobShape() throws {
        let folder = try Self.sample()
        try Self.rewrite(folder) { metadata in
            Self.setTensor(&metadata, DCPTensorInfo(dtype: .float32, size: [2, 4], chunks: [DCPChunk(offsets: [0, 0], sizes: [1, 4]), DCPChunk(offsets: [1, 0], sizes: [1, 4])]))
            let first = metadata.storage.removeValue(forKey: DCPStorageKey(fqn: "w", offsets: [0, 0]))
            let second = metadata.storage.removeValue(forKey: DCPStorageKey(fqn: "w", offsets: [2, 0]))
            metadata.storage[DCPStorageKey(fqn: "w", offsets: [0, 0])] = first
            metadata.storage[DCPStorageKey(fqn: "w", offsets: [1, 0])] = second
        }
        expectDCPError({ try read(folder) }) { if case .blobShapeMismatch(_, "w", [1, 4], [2, 2]) = $0 { return true } else { return false } }
    }

    @Test("items of one file that share bytes")
    func overlappingItems() throws {
        let folder = try Self.sample()
        try Self.rewrite(folder) { metadata in
            metadata.storage[DCPStorageKey(fqn: "w", offsets: [2, 0])] = metadata.storage[DCPStorageKey(fqn: "w", offsets: [0, 0])]
        }
        expectDCPError({ try read(folder) }) { if case .overlappingItems(_, "w", "w") = $0 { return true } else { return false } }
    }

    @Test("every truncation of .metadata is an error, never a crash")
    func truncatedMetadata() throws {
        let folder = try Self.sample()
        let path = (folder as NSString).appendingPathComponent(DCPFolder.metadataName)
        let full = try MappedFile(path: path).withAllBytes { Array($0) }
        for length in stride(from: 0, to: full.count, by: max(full.count / 64, 1)) {
            try FileManager.default.removeItem(atPath: path)
            try OutputFile.write(Array(full[..<length]), to: path)
            #expect(throws: (any Error).self) { try DCPFolder(path: folder) }
        }
    }

    @Test("the CLI exits 2 with one line naming the key and the missing file")
    func cliExit() throws {
        let folder = try Self.sample()
        try FileManager.default.removeItem(atPath: (folder as NSString).appendingPathComponent("__1_0.distcp"))
        let run = try TestSupport.run(["inspect", folder])
        #expect(run.status == 2)
        let lines = run.stderr.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(run.stderr.contains("'w'") && run.stderr.contains("__1_0.distcp"), "\(run.stderr)")
    }
}
