import Foundation
import Testing

@testable import MoECheckpoint

@Suite("safetensors writer")
struct SafetensorsWriterTests {
    static let reference = TestSupport.projectFixtures.appendingPathComponent("safetensors-reference")

    @Test(
        "rewriting a file made by the reference safetensors library gives the same bytes",
        arguments: ["mixed.safetensors", "mixed_metadata.safetensors", "single.safetensors"])
    func byteIdenticalToReference(name: String) throws {
        let path = Self.reference.appendingPathComponent(name).path
        let original = try SafetensorsFile(path: path)
        let items = original.header.tensors.map { (name: $0.name, source: original.tensor($0) as any TensorSource) }
        let out = try TemporaryFolder().url.appendingPathComponent(name).path
        try SafetensorsWriter.write(items.reversed(), metadata: original.header.metadata, to: out)
        let expected = try Data(contentsOf: URL(fileURLWithPath: path))
        let written = try Data(contentsOf: URL(fileURLWithPath: out))
        #expect(written == expected)
    }

    @Test("a seeded round trip keeps every tensor's bytes, dtype and shape")
    func roundTrip() throws {
        var generator = SeededGenerator(seed: 42)
        var items: [SafetensorsWriter.Item] = []
        for (i, dtype) in DType.allCases.enumerated() {
            let shape = [Int.random(in: 0...4, using: &generator), Int.random(in: 1...5, using: &generator)]
            let count = shape.reduce(1, *) * dtype.byteSize
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            items.append(("t\(i).\(dtype.rawValue)", InMemoryTensor(dtype: dtype, shape: shape, bytes: bytes)))
        }
        let path = try TemporaryFolder().url.appendingPathComponent("rt.safetensors").path
        try SafetensorsWriter.write(items, metadata: [("a", "b")], to: path)
        let file = try SafetensorsFile(path: path)
        for item in items {
            let read = try #require(file.tensor(named: item.name))
            #expect(read.dtype == item.source.dtype)
            #expect(read.shape == item.source.shape)
            #expect(try read.bytes() == item.source.bytes())
        }
        #expect(file.header.dataStart % 8 == 0)
    }

    @Test("two tensors with one name are refused")
    func duplicateNames() throws {
        let t = InMemoryTensor(floats: [1], shape: [1])
        let path = try TemporaryFolder().url.appendingPathComponent("d.safetensors").path
        #expect(throws: SafetensorsError.duplicateTensorName(file: path, key: "x")) {
            try SafetensorsWriter.write([("x", t), ("x", t)], to: path)
        }
    }
}

/// A deterministic generator (SplitMix64) for seeded tests.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
