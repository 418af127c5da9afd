import Foundation
import Testing
@testable import MoECheckpoint

@Suite struct PickleMachineTests {
    let source = "test.pkl"

    func run(_ bytes: [UInt8], limits: PickleLimits = PickleLimits(), strict: Bool = false) throws -> PickleValue {
        try Unpickler(source: source, limits: limits, strict: strict).unpickle(bytes)
    }

    @Test(arguments: [("os", "system"), ("builtins", "eval"), ("subprocess", "Popen"), ("posix", "system"), ("__builtin__", "exec"), ("nt", "system")])
    func aForbiddenGlobalIsRefusedWithItsOffset(module: String, name: String) throws {
        let bytes = PickleBytes.make { p in
            p.global(module, name)
            p.string("echo pwned")
            p.op(0x85)
            p.op(0x52)
        }
        guard case .forbiddenGlobal(_, 2, module, name, _) = caught({ try run(bytes) }) as? PickleError else {
            Issue.record("expected forbiddenGlobal at byte 2 for \(module).\(name)")
            return
        }
    }

    @Test func unknownGlobalsStayOpaqueAndStrictModeRefusesThem() throws {
        let bytes = PickleBytes.make { p in
            p.global("argparse", "Namespace")
            p.op(0x29)
            p.op(0x81)
            p.op(0x7D)
            p.string("num_experts")
            p.op(0x4B, [8])
            p.op(0x73)
            p.op(0x62)
        }
        let value = try run(bytes)
        #expect(value.className == "argparse.Namespace")
        #expect(MegatronNamespace.fields(of: value)?["num_experts"] == .int(8))
        guard case .forbiddenGlobal(_, 2, "argparse", "Namespace", _) = caught({ try run(bytes, strict: true) }) as? PickleError else {
            Issue.record("expected strict mode to refuse argparse.Namespace")
            return
        }
    }

    @Test func aMemoIndexBeyondTheLimitIsRefused() throws {
        let bytes = PickleBytes.make { p in
            p.op(0x4E)
            p.op(0x72, [0xFF, 0xFF, 0xFF, 0xFF])
        }
        #expect(caught { try run(bytes) } as? PickleError == .memoIndexTooLarge(source: source, offset: 3, index: 0xFFFF_FFFF, limit: 10_000_000))
    }

    @Test func aGetOfAMissingMemoIndexIsRefused() throws {
        let bytes = PickleBytes.make { p in p.op(0x68, [7]) }
        #expect(caught { try run(bytes) } as? PickleError == .memoMissing(source: source, offset: 2, index: 7))
    }

    @Test func aStackBombIsStopped() throws {
        var p = PickleBytes()
        for _ in 0..<100_001 { p.op(0x4E) }
        p.stop()
        #expect(caught { try run(p.bytes) } as? PickleError == .stackTooDeep(source: source, offset: 100_002, limit: 100_000))
    }

    @Test func aMarkBombIsStopped() throws {
        var p = PickleBytes()
        for _ in 0..<1001 { p.op(0x28) }
        #expect(caught { try run(p.bytes) } as? PickleError == .markTooDeep(source: source, offset: 1002, limit: 1000))
    }

    @Test func aRecursionBombOfNestedTuplesIsStoppedWithoutRecursing() throws {
        var p = PickleBytes()
        p.op(0x29)
        for _ in 0..<50_000 { p.op(0x85) }
        p.stop()
        #expect(caught { try run(p.bytes) } as? PickleError == .nestingTooDeep(source: source, offset: 1003, limit: 1000))
    }

    @Test func anExponentialSharingBombExceedsTheObjectBudget() throws {
        // l0 = [], l(n+1) = [l(n), l(n)]: 2^40 paths from a few hundred bytes.
        var p = PickleBytes()
        p.op(0x28)
        p.op(0x5D)
        p.op(0x71, [0])
        for i in 1...40 {
            p.op(0x5D)
            p.op(0x28)
            p.op(0x68, [UInt8(i - 1)])
            p.op(0x68, [UInt8(i - 1)])
            p.op(0x65)
            p.op(0x71, [UInt8(i)])
        }
        p.op(0x74)
        p.stop()
        guard case .objectBudget = caught({ try run(p.bytes) }) as? PickleError else {
            Issue.record("expected objectBudget")
            return
        }
    }

    @Test func aListThatWouldContainItselfIsRefused() throws {
        let bytes = PickleBytes.make { p in
            p.op(0x5D)
            p.op(0x71, [0])
            p.op(0x68, [0])
            p.op(0x61)
        }
        #expect(caught { try run(bytes) } as? PickleError == .cycle(source: source, kind: "list"))
    }

    @Test func mutatingAContainerAfterNestingItIsRefused() throws {
        let bytes = PickleBytes.make { p in
            p.op(0x5D)
            p.op(0x71, [0])
            p.op(0x85)
            p.op(0x68, [0])
            p.op(0x4E)
            p.op(0x61)
        }
        #expect(caught { try run(bytes) } as? PickleError == .mutatedAfterNesting(source: source, offset: 9, opcode: "APPEND", kind: "list"))
    }

    @Test func truncatedOperandsAndUnknownOpcodesAreTypedErrors() throws {
        #expect(caught { try run([0x80, 2, 0x58, 0xFF, 0, 0, 0, 0x41]) } as? PickleError
            == .truncated(source: source, offset: 2, opcode: "BINUNICODE", needed: 255, available: 1))
        #expect(caught { try run([0x80, 2, 0xFF]) } as? PickleError == .unknownOpcode(source: source, offset: 2, byte: 0xFF))
        #expect(caught { try run([0x80, 2, 0x4E]) } as? PickleError == .missingStop(source: source, offset: 3))
        #expect(caught { try run([0x80, 2, 0x4E, 0x2E, 0x00]) } as? PickleError == .trailingBytes(source: source, offset: 3, count: 1))
        #expect(caught { try run([0x80, 2, 0x61, 0x2E]) } as? PickleError == .stackUnderflow(source: source, offset: 2, opcode: "APPEND", needed: 1, found: 0))
        guard case .refusedOpcode(_, 2, "INST", _) = caught({ try run([0x80, 2, 0x69]) }) as? PickleError else {
            Issue.record("expected INST to be refused")
            return
        }
    }

    @Test func integersFloatsAndStringsKeepTheirExactValues() throws {
        let bytes = PickleBytes.make { p in
            p.op(0x28)
            p.op(0x8A, [5, 0, 0, 0, 0, 1])  // 4294967296
            p.op(0x8A, [9, 1, 0, 0, 0, 0, 0, 0, 0, 1])  // 2^64 + 1
            p.op(0x8A, [1, 0xFF])  // -1
            p.op(0x47, withUnsafeBytes(of: (0.1).bitPattern.bigEndian) { Array($0) })
            p.string("ünïcode")
            p.op(0x74)
        }
        let value = try run(bytes)
        #expect(value == .tuple([.int(4_294_967_296), .bigInt([1, 0, 0, 0, 0, 0, 0, 0, 1]), .int(-1), .double(0.1), .string("ünïcode")]))
        #expect(try run(try Pickler().pickle(value)) == value)
        #expect(try PickleJSON.convert(.bigInt([1, 0, 0, 0, 0, 0, 0, 0, 1])) == .number("18446744073709551617"))
    }

    @Test func aTensorViewOutsideItsStorageIsRefused() throws {
        let bytes = PickleBytes.make { $0.rebuildTensor(storage: "0", numel: 10, size: [4, 4], stride: [4, 1]) }
        guard case .invalidTensor(_, _, let expected, _) = caught({ try run(bytes) }) as? PickleError else {
            Issue.record("expected invalidTensor")
            return
        }
        #expect(expected.contains("10 elements"))
    }

    @Test(.enabled(if: Fixtures.available, "no fixtures found"))
    func everyFixturePickleSurvivesUnpickleAndRepickleUnchanged() throws {
        for url in Fixtures.ptFiles {
            let file = try TorchSaveFile(path: url.path)
            let again = try Unpickler(source: "repickled").unpickle(try Pickler().pickle(file.root))
            #expect(again == file.root, "\(url.lastPathComponent) in \(url.deletingLastPathComponent().path)")
            if let args = file.root.dictValue?["args"] {
                #expect(MegatronNamespace.fields(of: args) != nil)
                let argsAgain = try Unpickler(source: "args").unpickle(try Pickler().pickle(args))
                #expect(argsAgain == args)
            }
        }
    }

    @Test func aNamespaceBuiltFromScratchRoundTripsThroughThePickler() throws {
        let moe = MoEConfig(topK: 2, scoreFunction: .sigmoid, normalizeTopK: true, scalingFactor: 2.5, activation: .swiglu)
        let args = try MegatronNamespace.forWriting(source: nil, moe: moe, layout: nil, parallelism: Parallelism(expertParallel: 2), paramsDType: .bfloat16)
        let again = try Unpickler(source: "args", strict: false).unpickle(try Pickler().pickle(args))
        #expect(again == args)
        let fields = try #require(try PickleJSON.fields(of: again))
        let parsed = MegatronArgs(fields: fields)
        #expect(parsed.moeConfig.topK == 2)
        #expect(parsed.moeConfig.scoreFunction == .sigmoid)
        #expect(parsed.moeConfig.scalingFactor == 2.5)
        #expect(fields["expert_model_parallel_size"] == .int(2))
        #expect(fields["params_dtype"] == .string("torch.bfloat16"))
    }
}
