import Foundation
import Testing

@testable import MoECheckpoint

/// One test per rule of the safetensors format (`formats.md` §3.1, §6.5), each from the smallest
/// hostile file that breaks it.
@Suite("safetensors header validation")
struct SafetensorsHeaderTests {
    func parse(_ bytes: [UInt8]) throws -> SafetensorsHeader {
        try bytes.withUnsafeBytes { try SafetensorsHeader(parsing: $0, fileSize: bytes.count, file: "t.safetensors") }
    }

    func error(_ bytes: [UInt8]) -> SafetensorsError? {
        do {
            _ = try parse(bytes)
            return nil
        } catch let error as SafetensorsError {
            return error
        } catch {
            return nil
        }
    }

    @Test("a valid header parses into tensors in data order")
    func validHeader() throws {
        let header = #"{"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]},"a":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]},"__metadata__":{"k":"v"}}"#
        let parsed = try parse(TestSupport.safetensorsBytes(header: header, data: [UInt8](repeating: 0, count: 12)))
        #expect(parsed.tensors.map(\.name) == ["a", "b"])
        #expect(parsed.tensors[1].dtype == .float32)
        #expect(parsed.metadata.first?.value == "v")
    }

    @Test("a file shorter than 8 bytes is headerTooSmall")
    func tooSmall() {
        #expect(error([1, 2, 3]) == .headerTooSmall(file: "t.safetensors", size: 3))
    }

    @Test("a header length of 2^63 is headerTooLarge, never an allocation")
    func hugeLength() {
        let bytes = TestSupport.safetensorsBytes(header: "{}", declaredLength: 1 << 63)
        #expect(error(bytes) == .headerTooLarge(file: "t.safetensors", length: 1 << 63, limit: SafetensorsLimits.maxHeaderBytes))
    }

    @Test("a 100 MB header is refused by the limit")
    func hundredMegabyteHeader() {
        let bytes = TestSupport.safetensorsBytes(header: "{}", declaredLength: 100_000_001)
        #expect(error(bytes) == .headerTooLarge(file: "t.safetensors", length: 100_000_001, limit: SafetensorsLimits.maxHeaderBytes))
    }

    @Test("a header length past the end of the file is invalidHeaderLength")
    func lengthPastEnd() {
        let bytes = TestSupport.safetensorsBytes(header: "{}", declaredLength: 50)
        #expect(error(bytes) == .invalidHeaderLength(file: "t.safetensors", length: 50, fileSize: 10))
    }

    @Test("a header that does not start with { is refused")
    func notAnObject() {
        guard case .invalidHeaderStart = error(TestSupport.safetensorsBytes(header: "[1,2]")) else {
            Issue.record("expected invalidHeaderStart")
            return
        }
    }

    @Test("invalid JSON names the byte offset")
    func invalidJSON() {
        guard case .invalidHeaderJSON(_, let reason) = error(TestSupport.safetensorsBytes(header: #"{"a": }"#)) else {
            Issue.record("expected invalidHeaderJSON")
            return
        }
        #expect(reason.contains("byte"))
    }

    @Test("duplicate tensor names are refused")
    func duplicateKeys() {
        let header = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
        guard case .invalidHeaderJSON(_, let reason) = error(TestSupport.safetensorsBytes(header: header, data: [UInt8](repeating: 0, count: 8))) else {
            Issue.record("expected a duplicate-key error")
            return
        }
        #expect(reason.contains("duplicate"))
    }

    @Test("overlapping offsets are invalidOffset")
    func overlapping() {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        #expect(error(TestSupport.safetensorsBytes(header: header, data: [UInt8](repeating: 0, count: 12)))
            == .invalidOffset(file: "t.safetensors", key: "b", expectedStart: 8, found: [4, 12]))
    }

    @Test("a gap between tensors is invalidOffset")
    func gap() {
        let header = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#
        #expect(error(TestSupport.safetensorsBytes(header: header, data: [UInt8](repeating: 0, count: 12)))
            == .invalidOffset(file: "t.safetensors", key: "b", expectedStart: 4, found: [8, 12]))
    }

    @Test("offsets out of range of the file are incompleteBuffer")
    func outOfRange() {
        let header = #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#
        guard case .incompleteBuffer = error(TestSupport.safetensorsBytes(header: header, data: [0, 0, 0, 0])) else {
            Issue.record("expected incompleteBuffer")
            return
        }
    }

    @Test("trailing bytes after the data are refused (anti-polyglot)")
    func trailingBytes() {
        let header = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#
        let bytes = TestSupport.safetensorsBytes(header: header, data: [0, 0, 0, 0, 9])
        #expect(error(bytes) == .incompleteBuffer(file: "t.safetensors", expectedSize: bytes.count - 1, foundSize: bytes.count))
    }

    @Test("a dtype and shape that disagree with the byte range are sizeMismatch")
    func sizeMismatch() {
        let header = #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#
        #expect(error(TestSupport.safetensorsBytes(header: header, data: [UInt8](repeating: 0, count: 8)))
            == .sizeMismatch(file: "t.safetensors", key: "a", dtype: .float32, shape: [3], expectedBytes: 12, foundBytes: 8))
    }

    @Test("a shape whose product overflows is validationOverflow")
    func overflowingShape() {
        let header = #"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}"#
        #expect(error(TestSupport.safetensorsBytes(header: header)) == .validationOverflow(file: "t.safetensors", key: "a", shape: [1 << 32, 1 << 32]))
    }

    @Test("a negative dimension is refused")
    func negativeShape() {
        let header = #"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}"#
        guard case .invalidTensorInfo(_, "a", _) = error(TestSupport.safetensorsBytes(header: header)) else {
            Issue.record("expected invalidTensorInfo")
            return
        }
    }

    @Test("an unknown dtype names the key and the dtype")
    func unknownDType() {
        let header = #"{"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}}"#
        #expect(error(TestSupport.safetensorsBytes(header: header, data: [0])) == .unknownDType(file: "t.safetensors", key: "a", dtype: "Q4"))
    }

    @Test("metadata values must be strings")
    func metadataNotStrings() {
        guard case .invalidMetadata = error(TestSupport.safetensorsBytes(header: #"{"__metadata__":{"a":1}}"#)) else {
            Issue.record("expected invalidMetadata")
            return
        }
    }

    @Test("nesting deeper than 64 is refused without recursion trouble")
    func deepNesting() {
        let header = #"{"__metadata__":"# + String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000) + "}"
        guard case .invalidHeaderJSON = error(TestSupport.safetensorsBytes(header: header)) else {
            Issue.record("expected invalidHeaderJSON")
            return
        }
    }

    @Test("every truncation of a valid file fails cleanly", arguments: [0, 4, 8, 20, 40, 60])
    func truncations(cut: Int) throws {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        let full = TestSupport.safetensorsBytes(header: header, data: [UInt8](repeating: 1, count: 8))
        let truncated = Array(full.prefix(min(cut, full.count - 1)))
        #expect(error(truncated) != nil)
    }

    @Test("scalars and empty tensors are valid")
    func scalarsAndEmpty() throws {
        let header = #"{"s":{"dtype":"F64","shape":[],"data_offsets":[0,8]},"e":{"dtype":"F32","shape":[0,3],"data_offsets":[8,8]}}"#
        let parsed = try parse(TestSupport.safetensorsBytes(header: header, data: [UInt8](repeating: 0, count: 8)))
        #expect(parsed.tensors.count == 2)
    }
}
