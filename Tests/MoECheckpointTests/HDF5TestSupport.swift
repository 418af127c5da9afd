import Foundation
import Testing

@testable import MoECheckpoint

/// Where the safetensors fixtures are: the project's `Tests/Fixtures`, the shared
/// `../shared/fixtures` beside the repository, and any folders in `MOECKPT_FIXTURES`
/// (colon-separated), for running against fixtures kept elsewhere.
enum HDF5Fixtures {
    /// The repository root (`Fixtures.repo`).
    static let repository = Fixtures.repo

    /// Fixture folders that exist.
    static var roots: [String] {
        var candidates = [
            repository.appendingPathComponent("Tests/Fixtures").path,
            repository.deletingLastPathComponent().appendingPathComponent("shared/fixtures").path,
        ]
        if let extra = ProcessInfo.processInfo.environment["MOECKPT_FIXTURES"] {
            candidates += extra.split(separator: ":").map(String.init)
        }
        return candidates.filter { FileManager.default.fileExists(atPath: $0) }
    }

    /// Every `*.safetensors` file under the roots, sorted.
    static var safetensorsFiles: [String] {
        files(under: roots).filter { $0.hasSuffix(".safetensors") }
    }

    /// Checkpoints to convert: every safetensors file, and every folder with an index.
    static var checkpoints: [String] {
        let all = files(under: roots)
        let folders = all.filter { $0.hasSuffix("/model.safetensors.index.json") }.map { ($0 as NSString).deletingLastPathComponent }
        return (all.filter { $0.hasSuffix(".safetensors") } + folders).sorted()
    }

    /// The message a test shows when nothing is there.
    static var absentMessage: Comment {
        "no safetensors fixtures under \(repository.path)/Tests/Fixtures, \(repository.deletingLastPathComponent().path)/shared/fixtures or MOECKPT_FIXTURES"
    }

    private static func files(under roots: [String]) -> [String] {
        var found = Set<String>()
        for root in roots {
            guard let walker = FileManager.default.enumerator(atPath: root) else { continue }
            while let relative = walker.nextObject() as? String {
                let hidden = (relative as NSString).lastPathComponent.hasPrefix(".") && !relative.contains(".hf_metadata")
                if hidden || relative == Fixtures.hostileFolder {
                    walker.skipDescendants()
                    continue
                }
                found.insert((root as NSString).appendingPathComponent(relative))
            }
        }
        return found.sorted()
    }
}

/// Tensor comparisons used by the round-trip tests.
enum TensorCompare {
    /// Issues one failure per key whose dtype, shape or bytes differ, or that is missing.
    static func expectIdentical(_ actual: StateDict, _ expected: StateDict, _ context: String) throws {
        #expect(Set(actual.keys) == Set(expected.keys), "\(context): keys differ")
        for entry in expected.entries {
            guard let other = actual[entry.key] else { continue }
            #expect(other.dtype == entry.dtype, "\(context): \(entry.key) dtype")
            #expect(other.shape == entry.shape, "\(context): \(entry.key) shape")
            let same = try entry.source.withBytes { lhs in try other.source.withBytes { rhs in lhs.elementsEqual(rhs) } }
            #expect(same, "\(context): \(entry.key) bytes differ")
        }
    }
}

/// Small synthetic state dicts covering every dtype and the awkward keys.
enum SyntheticStateDict {
    /// Deterministic bytes (any bit pattern is fine: the writer copies bits, it never converts).
    static func pattern(_ count: Int, seed: Int) -> [UInt8] {
        var state = UInt64(truncatingIfNeeded: seed) &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0..<count).map { _ in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return UInt8(truncatingIfNeeded: state)
        }
    }

    /// A tensor of `dtype` and `shape` with patterned bytes (bools are 0 or 1).
    static func tensor(_ dtype: DType, _ shape: [Int], seed: Int) -> InMemoryTensor {
        var bytes = pattern(TensorShape.byteCount(shape, dtype: dtype)!, seed: seed)
        if dtype == .bool { bytes = bytes.map { $0 & 1 } }
        return InMemoryTensor(dtype: dtype, shape: shape, bytes: bytes)
    }

    /// Every dtype, a scalar, an empty tensor, keys that collide as paths, keys HDF5 names
    /// cannot hold, and an MoE layer in bf16 with a float32 expert bias.
    static func all() throws -> StateDict {
        var entries: [(String, InMemoryTensor)] = []
        for (index, dtype) in DType.allCases.enumerated() {
            entries.append(("dtypes.\(dtype.rawValue)", tensor(dtype, [3, 5], seed: index)))
        }
        entries += [
            ("scalar", tensor(.float32, [], seed: 100)),
            ("empty", tensor(.bfloat16, [0, 4], seed: 101)),
            ("a.b", tensor(.float32, [2], seed: 102)),
            ("a.b.c", tensor(.float32, [2], seed: 103)),
            ("x.y.z", tensor(.float32, [2], seed: 104)),
            ("x.y", tensor(.float32, [2], seed: 105)),
            ("slash/in.key", tensor(.int64, [2], seed: 106)),
            ("double..dot", tensor(.int64, [2], seed: 107)),
            ("__reserved.top", tensor(.int64, [2], seed: 108)),
            ("ünïcode.κλειδί", tensor(.float16, [2, 2], seed: 109)),
            ("decoder.layers.0.mlp.router.weight", tensor(.bfloat16, [8, 16], seed: 110)),
            ("decoder.layers.0.mlp.router.expert_bias", tensor(.float32, [8], seed: 111)),
            ("decoder.layers.0.mlp.experts.linear_fc1.weight", tensor(.bfloat16, [8, 64, 16], seed: 112)),
        ]
        return try StateDict(entries.map { TensorEntry(key: $0.0, source: $0.1, file: "memory") })
    }

    /// Writes `dict` as a moe-ckpt HDF5 file.
    static func write(_ dict: StateDict, to path: String, compress: Bool = false) throws {
        var metadata = HDF5Metadata()
        metadata.isMoECkpt = true
        metadata.keys = dict.keys
        try HDF5Writer.write(dict.entries.map { ($0.key, $0.source) }, metadata: metadata, compress: compress, to: path)
    }
}

/// Catches the `HDF5Error` a block throws (failing the test for any other outcome).
func hdf5Error(_ body: () throws -> Void) -> HDF5Error? {
    do {
        try body()
    } catch let error as HDF5Error {
        return error
    } catch {
        Issue.record("expected an HDF5Error, got \(type(of: error)): \(error)")
        return nil
    }
    Issue.record("expected an HDF5Error, nothing was thrown")
    return nil
}
