/// Builds the `.metadata` pickle value of `torch/distributed/checkpoint/metadata.py` as torch's
/// savers write it (`formats.md` §2.2): dataclasses as NEWOBJ + state dict + BUILD,
/// `TensorProperties` with its 5-tuple state, sizes as `torch.Size`, `storage_data` keyed by
/// `MetadataIndex` objects. What differs between Megatron and OLMo-core is data (`DCPFlavor`).
struct DCPMetadataEncoder {
    let flavor: DCPFlavor

    static let module = DCPMetadataDecoder.metadataModule

    func encode(_ metadata: DCPMetadata, checkpointID: String, saveID: String) -> PickleValue {
        let entries = PickleDict()
        for (fqn, item) in metadata.items {
            switch item {
            case .bytes:
                entries.set(fqn, .object(PickleInstance(callable: .global(module: Self.module, name: "BytesStorageMetadata"), args: .tuple([]))))
            case .tensor(let info):
                entries.set(fqn, tensorMetadata(info))
            }
        }
        let storage = PickleDict()
        // Items in metadata order, chunks in chunk order: the order the savers use.
        for (fqn, item) in metadata.items {
            let keys: [DCPStorageKey]
            switch item {
            case .bytes: keys = [DCPStorageKey(fqn: fqn, offsets: nil)]
            case .tensor(let info): keys = info.chunks.map { DCPStorageKey(fqn: fqn, offsets: $0.offsets) }
            }
            for key in keys {
                guard let info = metadata.storage[key] else { continue }
                storage.insert(key: metadataIndex(key, hint: metadata.indexHints[key]), value: storageInfo(info))
            }
        }
        let state = PickleDict()
        state.set("state_dict_metadata", .dict(entries))
        state.set("planner_data", metadata.plannerData ?? .none)
        state.set("storage_data", .dict(storage))
        state.set("storage_meta", dataclass(Self.module, "StorageMeta", [
            ("checkpoint_id", .string(checkpointID)), ("save_id", .string(saveID)), ("load_id", .none), ("modules", .list(PickleList())),
        ]))
        state.set("version", metadata.version.map(PickleValue.string) ?? .none)
        return .object(PickleInstance(callable: .global(module: Self.module, name: "Metadata"), args: .tuple([]), state: .dict(state)))
    }

    func dataclass(_ module: String, _ name: String, _ fields: [(String, PickleValue)]) -> PickleValue {
        let state = PickleDict()
        for (key, value) in fields { state.set(key, value) }
        return .object(PickleInstance(callable: .global(module: module, name: name), args: .tuple([]), state: .dict(state)))
    }

    static func size(_ dims: [Int]) -> PickleValue {
        .reduce(PickleInstance(callable: .global(module: "torch", name: "Size"), args: .tuple([.tuple(dims.map(PickleValue.integer))])))
    }

    func tensorMetadata(_ info: DCPTensorInfo) -> PickleValue {
        let properties = PickleInstance(
            callable: .global(module: Self.module, name: "TensorProperties"), args: .tuple([]),
            state: .tuple([
                .global(module: "torch", name: info.dtype.rawValue),
                .reduce(PickleInstance(callable: .global(module: "torch.serialization", name: "_get_layout"), args: .tuple([.string("torch.strided")]))),
                .bool(info.requiresGrad),
                .reduce(PickleInstance(callable: .global(module: Self.module, name: "_MEM_FORMAT_ENCODING"), args: .tuple([.int(0)]))),
                .bool(false),
            ]))
        let chunks = PickleList(info.chunks.map { chunk in
            dataclass(Self.module, "ChunkStorageMetadata", [("offsets", Self.size(chunk.offsets)), ("sizes", Self.size(chunk.sizes))])
        })
        return dataclass(Self.module, "TensorStorageMetadata", [("properties", .object(properties)), ("size", Self.size(info.size)), ("chunks", .list(chunks))])
    }

    func metadataIndex(_ key: DCPStorageKey, hint: Int?) -> PickleValue {
        var fields: [(String, PickleValue)] = [("fqn", .string(key.fqn))]
        // torch omits `offset` for bytes items (the class default, None).
        if let offsets = key.offsets { fields.append(("offset", Self.size(offsets))) }
        fields.append(("index", hint.map(PickleValue.integer) ?? .none))
        return dataclass(Self.module, "MetadataIndex", fields)
    }

    func storageInfo(_ info: DCPStorageInfo) -> PickleValue {
        dataclass(flavor.storageInfoModule, "_StorageInfo", [
            ("relative_path", .string(info.relativePath)), ("offset", .integer(info.offset)), ("length", .integer(info.length)),
        ])
    }
}

/// What distinguishes one DCP saver's output from another's: data, not code.
public struct DCPFlavor: Sendable {
    /// The module of the `_StorageInfo` class in `storage_data`.
    public var storageInfoModule: String
    /// `Metadata.version`.
    public var version: String?
    /// Whether `planner_data` maps each fqn to its path tuple (OLMo-core's flattening record).
    public var writesPlannerData: Bool
    /// Whether `MetadataIndex.index` carries the chunk's position (OLMo-core) or `None` (Megatron).
    public var writesIndexHints: Bool
    /// Data files per rank: tensors go to bucket 0, bytes items to bucket `bytesBucket`.
    public var bytesBucket: Int

    /// Megatron-Core's torch_dist (torch's own `FileSystemWriter` records).
    public static let megatron = DCPFlavor(
        storageInfoModule: "torch.distributed.checkpoint.filesystem", version: "1.0.0", writesPlannerData: false,
        writesIndexHints: false, bytesBucket: 1)
    /// OLMo-core's `RemoteFileSystemWriter`, whose loader is the only one that reads it back.
    public static let olmo = DCPFlavor(
        storageInfoModule: "olmo_core.distributed.checkpoint.filesystem", version: nil, writesPlannerData: true,
        writesIndexHints: true, bytesBucket: 0)
}
