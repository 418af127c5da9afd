import Foundation

/// Seed inputs the fuzz targets need beyond the committed fixtures: `HDF5FuzzImage` programs
/// (the `hdf5` target's input is a program, not a file), small torch.save archives and pickles
/// made by moe-ckpt's writers, and the small HDF5 file the hostile corpus cuts short.
public enum FuzzSeeds {
    /// Seeds for `target`, named; empty for targets seeded only from the fixtures.
    public static func synthesized(for target: FuzzTarget) -> [(name: String, bytes: [UInt8])] {
        switch target {
        case .hdf5: return [("convention.h5prog", conventionProgram()), ("foreign.h5prog", foreignProgram())]
        case .torchSave, .zip: return [("small-checkpoint.pt", (try? torchSave()) ?? [])]
        case .pickle, .megatronArgs:
            return [("small-checkpoint.pkl", (try? Pickler().pickle(checkpointRoot().root)) ?? []),
                    ("legacy-args.pkl", (try? Pickler().pickle(legacyArgsRoot())) ?? [])]
        default: return []
        }
    }

    /// A training checkpoint's root as Megatron saves it: `model` (an OrderedDict of two small
    /// tensors), torch_dist-style `args`, and `iteration`. The fixtures' pickles are 20–30 KB;
    /// the machine runs about 150 of those a second under ASan, so small seeds keep long runs long.
    static func checkpointRoot() -> (root: PickleValue, storages: TorchSaveWriter.Storages) {
        var storages = TorchSaveWriter.Storages()
        let tensors = [
            TensorEntry(key: "decoder.layers.0.mlp.router.weight", source: InMemoryTensor(dtype: .float32, shape: [4, 2], bytes: Array(0..<32)), file: "seed"),
            TensorEntry(key: "decoder.layers.0.mlp.router.expert_bias", source: InMemoryTensor(dtype: .bfloat16, shape: [4], bytes: Array(0..<8)), file: "seed"),
        ]
        let model = StateDictPickle.orderedDict(tensors: tensors, objects: [], storages: &storages)
        var moe = MoEConfig(topK: 2)
        moe.scoreFunction = .sigmoid
        let fields = MegatronNamespace.build(moe: moe, layout: nil, paramsDType: .float32)
        fields.set("moe_layer_freq", .list(PickleList([.int(0), .int(1)])))
        fields.set("expert_model_parallel_size", .integer(2))
        let args = MegatronNamespace.make(fields)
        let root = PickleDict([(.string("model"), .dict(model)), (.string("args"), args), (.string("iteration"), .int(1))])
        return (.dict(root), storages)
    }

    /// A legacy checkpoint's root with the Namespace moe-ckpt writes when a source had none.
    static func legacyArgsRoot() -> PickleValue {
        let args = MegatronNamespace.make(MegatronNamespace.build(moe: MoEConfig(topK: 2), layout: nil, paramsDType: .bfloat16))
        return .dict(PickleDict([(.string("args"), args), (.string("model"), .dict(PickleDict()))]))
    }

    /// `checkpointRoot` as a torch.save archive.
    static func torchSave() throws -> [UInt8] {
        let (root, storages) = checkpointRoot()
        return try scratch("pt") { try TorchSaveWriter.write(root, storages: storages, to: $0, archiveName: "archive") }
    }

    /// The bytes `write` puts in a fresh temporary file.
    static func scratch(_ suffix: String, _ write: (String) throws -> Void) throws -> [UInt8] {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("moe-ckpt-seed-\(getpid())-\(UUID().uuidString).\(suffix)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try write(path)
        return try MappedFile(path: path).withAllBytes { Array($0) }
    }

    /// Writes `HDF5FuzzImage` programs.
    struct ProgramWriter {
        var bytes: [UInt8] = []

        mutating func op(_ operation: HDF5FuzzImage.Operation) { bytes.append(operation.rawValue) }
        mutating func byte(_ value: UInt8) { bytes.append(value) }
        mutating func int64(_ value: Int64) { bytes += (0..<8).reversed().map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) } }

        /// A vocabulary word by index, else the text itself.
        mutating func text(_ text: String) {
            if let index = HDF5FuzzImage.vocabulary.firstIndex(of: text), index < 0x80 {
                bytes.append(0x80 | UInt8(index))
            } else {
                let utf8 = Array(text.utf8.prefix(0x7F))
                bytes.append(UInt8(utf8.count))
                bytes += utf8
            }
        }

        mutating func stringAttribute(_ name: String, _ value: String) {
            op(.stringAttribute)
            text(name)
            text(value)
        }

        /// A dataset under the root: path, convention type of `dtype`, dims, layout (0 contiguous,
        /// 1 chunked, 2 chunked with shuffle + deflate), then `key` and `dtype` attributes.
        mutating func dataset(_ path: String, _ dtype: DType, _ dims: [UInt8], layout: UInt8 = 0, key: String?) {
            op(.dataset)
            byte(0)
            text(path)
            byte(UInt8(DType.allCases.firstIndex(of: dtype)!))
            byte(UInt8(dims.count))
            dims.forEach { byte($0) }
            byte(layout)
            let count = dims.reduce(1) { $0 * Int($1) } * dtype.byteSize
            bytes += (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 37) }
            if let key {
                stringAttribute(HDF5Convention.Dataset.key, key)
                stringAttribute(HDF5Convention.Dataset.dtype, dtype.rawValue)
            }
        }
    }

    /// A moe-ckpt file: root metadata, then tensors with their `key` and `dtype` attributes.
    static func conventionProgram() -> [UInt8] {
        var program = ProgramWriter()
        program.stringAttribute(HDF5Convention.Root.format, HDF5Convention.formatName)
        program.op(.integerAttribute)
        program.text(HDF5Convention.Root.formatVersion)
        program.byte(0)
        program.int64(1)
        program.stringAttribute(HDF5Convention.Root.framework, "hf")
        program.stringAttribute(HDF5Convention.Root.keys, #"["a.b","model.layers.0.mlp.gate.weight"]"#)
        program.stringAttribute(HDF5Convention.Root.record(.moeConfig), #"{"top_k":2,"score_function":"sigmoid"}"#)
        program.dataset("model/layers/0/mlp/gate/weight", .bfloat16, [2, 3], key: "model.layers.0.mlp.gate.weight")
        program.dataset("a/b", .float32, [2], layout: 2, key: "a.b")
        program.op(.integerAttribute)
        program.text(HDF5Convention.Dataset.shape)
        program.byte(1)
        program.int64(2)
        return program.bytes
    }

    /// A file from another tool: no root metadata, dtypes from the stored types, a group and a
    /// soft link (which the reader refuses).
    static func foreignProgram() -> [UInt8] {
        var program = ProgramWriter()
        program.op(.group)
        program.byte(0)
        program.text("model")
        program.dataset("model/weight", .float16, [3], key: nil)
        program.dataset("bias", .int64, [2, 1], layout: 1, key: nil)
        program.op(.softLink)
        program.byte(0)
        program.text("alias")
        program.text("/bias")
        return program.bytes
    }

    /// A moe-ckpt HDF5 file with one tensor per stored-type convention (bf16 and f8 as raw bits,
    /// bool, int64, a scalar, an empty tensor), keys that collide as paths, and the root metadata
    /// attributes; every tensor is a few bytes.
    static func hdf5(compress: Bool) throws -> [UInt8] {
        let tensors: [(String, DType, [Int])] = [
            ("model.layers.0.mlp.gate.weight", .bfloat16, [4, 2]),
            ("model.layers.0.mlp.gate.e_score_correction_bias", .float32, [4]),
            ("model.layers.0.mlp.experts.0.down_proj.weight", .float8_e4m3fn, [2, 3]),
            ("a.b", .int64, [2]), ("a.b.c", .bool, [3]), ("scalar", .float16, []), ("empty", .float32, [0, 2]),
        ]
        let items: [HDF5Writer.Item] = tensors.enumerated().map { index, tensor in
            let count = TensorShape.byteCount(tensor.2, dtype: tensor.1) ?? 0
            let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ index) & (tensor.1 == .bool ? 1 : 0xFF) }
            return (tensor.0, InMemoryTensor(dtype: tensor.1, shape: tensor.2, bytes: bytes))
        }
        var metadata = HDF5Metadata()
        metadata.isMoECkpt = true
        metadata.framework = .hf
        metadata.record = RoutingRecord(config: MoEConfig(topK: 2), heads: nil)
        metadata.keys = items.map(\.key)
        return try scratch("h5") { try HDF5Writer.write(items, metadata: metadata, compress: compress, to: $0) }
    }
}
