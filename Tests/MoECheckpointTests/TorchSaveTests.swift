import Foundation
import Testing
@testable import MoECheckpoint

@Suite struct TorchSaveTests {
    /// Writes `tensors` (key → ref) over `storages` and opens the result.
    func archive(_ tensors: [(String, TorchTensorRef)], storages: [any TensorSource], in folder: TemporaryFolder) throws -> String {
        var table = TorchSaveWriter.Storages()
        for source in storages { _ = table.tensor(source) }
        let dict = PickleDict(ordered: true)
        for (key, ref) in tensors { dict.set(key, .tensor(ref)) }
        let path = folder.path("t\(UUID().uuidString).pt")
        try TorchSaveWriter.write(.dict(dict), storages: table, to: path, archiveName: "t")
        return path
    }

    func floatStorage(numel: Int) -> TorchStorageRef {
        TorchStorageRef(typeName: "FloatStorage", dtype: .float32, key: "0", location: "cpu", numel: numel)
    }

    @Test func aStorageRecordShorterThanItsDeclaredSizeIsRefused() throws {
        let folder = try TemporaryFolder()
        let ref = TorchTensorRef(storage: floatStorage(numel: 16), dtype: .float32, storageOffset: 0, shape: [16], stride: [1])
        let path = try archive([("w", ref)], storages: [InMemoryTensor(floats: [1, 2, 3, 4], shape: [4])], in: folder)
        #expect(caught { try TorchSaveFile(path: path) } as? TorchSaveError
            == .storageSizeMismatch(file: path, key: "0", storageType: "FloatStorage", expectedBytes: 64, foundBytes: 16))
    }

    @Test func viewsSharingOneStorageReadTheirOwnElementsInPlace() throws {
        let folder = try TemporaryFolder()
        let storage = floatStorage(numel: 6)
        let first = TorchTensorRef(storage: storage, dtype: .float32, storageOffset: 0, shape: [2], stride: [1])
        let second = TorchTensorRef(storage: storage, dtype: .float32, storageOffset: 2, shape: [2, 2], stride: [2, 1])
        let path = try archive([("a", first), ("b", second)], storages: [InMemoryTensor(floats: [1, 2, 3, 4, 5, 6], shape: [6])], in: folder)
        let file = try TorchSaveFile(path: path)
        let contents = try file.stateDict(try file.modelDict().dict, path: "")
        #expect(contents.tensors.map(\.key) == ["a", "b"])
        #expect(try contents.tensors[0].source.floats() == [1, 2])
        #expect(try contents.tensors[1].source.floats() == [3, 4, 5, 6])
        let mapped = try #require((contents.tensors[1].source as? TorchRecordTensor)?.mapped)
        #expect(mapped.byteRange.lowerBound % 8 == 0)
    }

    @Test func aTransposedViewIsRefusedRatherThanReadWrong() throws {
        let folder = try TemporaryFolder()
        let ref = TorchTensorRef(storage: floatStorage(numel: 4), dtype: .float32, storageOffset: 0, shape: [2, 2], stride: [1, 2])
        let path = try archive([("t", ref)], storages: [InMemoryTensor(floats: [1, 2, 3, 4], shape: [4])], in: folder)
        let file = try TorchSaveFile(path: path)
        #expect(caught { try file.stateDict(try file.modelDict().dict, path: "") } as? TorchSaveError
            == .nonContiguousTensor(file: path, key: "t", shape: [2, 2], stride: [1, 2]))
    }

    @Test func unitDimensionsMayCarryAnyStride() throws {
        let folder = try TemporaryFolder()
        let ref = TorchTensorRef(storage: floatStorage(numel: 4), dtype: .float32, storageOffset: 0, shape: [1, 1, 2, 2], stride: [4, 4, 2, 1])
        let path = try archive([("t", ref)], storages: [InMemoryTensor(floats: [1, 2, 3, 4], shape: [4])], in: folder)
        let file = try TorchSaveFile(path: path)
        #expect(try file.stateDict(try file.modelDict().dict, path: "").tensors[0].source.floats() == [1, 2, 3, 4])
    }

    @Test func aMissingStorageRecordIsReported() throws {
        let folder = try TemporaryFolder()
        let ref = TorchTensorRef(storage: TorchStorageRef(typeName: "FloatStorage", dtype: .float32, key: "7", location: "cpu", numel: 1), dtype: .float32, storageOffset: 0, shape: [1], stride: [1])
        let path = try archive([("w", ref)], storages: [], in: folder)
        #expect(caught { try TorchSaveFile(path: path) } as? TorchSaveError == .missingStorage(file: path, key: "7"))
    }

    @Test func everyDTypeRoundTripsThroughAPtFile() throws {
        let folder = try TemporaryFolder()
        var entries: [TensorEntry] = []
        for dtype in DType.allCases {
            let bytes = (0..<(6 * dtype.byteSize)).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            entries.append(TensorEntry(key: "t.\(dtype.rawValue)", source: InMemoryTensor(dtype: dtype, shape: [2, 3], bytes: dtype == .bool ? bytes.map { $0 & 1 } : bytes), file: "mem"))
        }
        let path = folder.path("all.pt")
        try PTCheckpointWriter.write(WriteRequest(layout: .megatron, table: nil, stateDict: try StateDict(entries), singleFile: true), to: path)
        let file = try TorchSaveFile(path: path, strict: true)
        let contents = try file.stateDict(try file.modelDict().dict, path: "")
        for (original, read) in zip(entries, contents.tensors) {
            #expect(read.key == original.key)
            #expect(read.dtype == original.dtype)
            #expect(read.shape == original.shape)
            #expect(try read.source.bytes() == original.source.bytes())
        }
    }

    @Test(.enabled(if: Fixtures.available, "no fixtures found"))
    func everyPtFixtureParsesWithItsTensorsInPlace() throws {
        #expect(!Fixtures.ptFiles.isEmpty)
        for url in Fixtures.ptFiles {
            let file = try TorchSaveFile(path: url.path)
            let (dict, path) = try file.modelDict()
            let contents = try file.stateDict(dict, path: path)
            for entry in contents.tensors {
                #expect(try entry.source.bytes().count == TensorShape.byteCount(entry.shape, dtype: entry.dtype))
            }
        }
    }
}
