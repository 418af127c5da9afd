import Foundation
import Testing

@testable import MoECheckpoint

/// Limits found by the resource audit of issue #11, each on the smallest input that needs it.
@Suite("resource limits")
struct ResourceLimitTests {
    @Test("the JSON view of a pickle counts the text it expands, not only the nodes")
    func pickleViewTextBudget() throws {
        let shared = PickleValue.string(String(repeating: "A", count: 1 << 20))
        let namespace = PickleValue.dict(PickleDict([(.string("x"), .tuple(Array(repeating: shared, count: 100)))]))
        #expect(throws: PickleError.viewTooLarge(source: "bomb.pt", key: "args", limit: "\(PickleJSON.defaultTextBudget) bytes of text")) {
            try PickleJSON.fields(of: namespace, source: "bomb.pt")
        }
        let small = PickleValue.dict(PickleDict([(.string("x"), .tuple(Array(repeating: .string("abc"), count: 100)))]))
        #expect(try PickleJSON.fields(of: small)?["x"]?.arrayValue?.count == 100)
    }

    @Test("torch_dist args keep only the text budget's worth of shared strings")
    func megatronArgsTextBudget() {
        let shared = PickleValue.string(String(repeating: "A", count: 1 << 20))
        let state = PickleDict([(.string("num_experts"), .int(8)), (.string("x"), .list(PickleList(Array(repeating: shared, count: 100)))), (.string("moe_router_topk"), .int(2))])
        let args = PickleValue.object(PickleInstance(callable: .global(module: "argparse", name: "Namespace"), args: .tuple([]), state: .dict(state)))
        let fields = MegatronArgsPickle.fields(args)
        #expect(fields?["num_experts"]?.intValue == 8)
        #expect((fields?["x"]?.arrayValue?.count ?? 0) <= PickleJSON.defaultTextBudget >> 20)
    }

    @Test("an HDF5 superblock's length comes from its version and offset size")
    func superblockLength() {
        let signature = HDF5CheckpointReader.signature
        #expect(HDF5Superblock.length(signature + [0, 0, 0, 0, 0, 8, 8]) == 96)
        #expect(HDF5Superblock.length(signature + [1, 0, 0, 0, 0, 8, 8]) == 100)
        #expect(HDF5Superblock.length(signature + [2, 8, 8]) == 48)
        #expect(HDF5Superblock.length(signature + [3, 4, 4]) == 32)
        #expect(HDF5Superblock.length(Array(signature.prefix(5))) == 9)
        #expect(HDF5Superblock.length(signature + [9]) == nil)
        #expect(HDF5Superblock.length(Array("PK\u{3}\u{4}".utf8)) == nil)
        #expect(HDF5Superblock.truncation(file: "x.h5", start: signature + [0, 0, 0, 0, 0, 8, 8], size: 40)
            == .truncated(file: "x.h5", reason: "the file ends inside the superblock: expected 96 bytes, found 40"))
    }

    @Test("an in-memory copy reads like the mapped file")
    func inMemoryMappedFile() throws {
        let bytes: [UInt8] = Array(0..<200)
        let copy = bytes.withUnsafeBytes { MappedFile(copying: $0, path: "memory.bin") }
        #expect(copy.size == 200 && copy.path == "memory.bin")
        #expect(copy.withBytes(10..<20) { Array($0) } == Array(10..<20))
        let empty = [UInt8]().withUnsafeBytes { MappedFile(copying: $0, path: "empty") }
        #expect(empty.withAllBytes { $0.count } == 0)
    }
}
