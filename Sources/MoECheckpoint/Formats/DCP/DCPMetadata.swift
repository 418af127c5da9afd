/// One chunk of a global tensor: the hyper-rectangle `[offsets, offsets + sizes)`
/// (torch's `ChunkStorageMetadata`).
public struct DCPChunk: Equatable, Hashable, Sendable {
    public var offsets: [Int]
    public var sizes: [Int]

    public init(offsets: [Int], sizes: [Int]) {
        self.offsets = offsets
        self.sizes = sizes
    }

    /// Elements in the chunk (the shapes were checked against overflow when read or planned).
    public var elementCount: Int { TensorShape.elementCount(sizes) ?? 0 }
}

/// A tensor entry of `.metadata` (torch's `TensorStorageMetadata` + `TensorProperties`).
public struct DCPTensorInfo: Equatable, Sendable {
    public var dtype: DType
    /// The global shape.
    public var size: [Int]
    /// The chunks in `.metadata` order.
    public var chunks: [DCPChunk]
    public var requiresGrad: Bool

    public init(dtype: DType, size: [Int], chunks: [DCPChunk], requiresGrad: Bool = false) {
        self.dtype = dtype
        self.size = size
        self.chunks = chunks
        self.requiresGrad = requiresGrad
    }
}

/// What one fqn of `.metadata` holds: a chunked tensor or an opaque bytes item
/// (`BytesStorageMetadata`: Megatron's `_extra_state` objects, `common_state`).
public enum DCPItemInfo: Equatable, Sendable {
    case tensor(DCPTensorInfo)
    case bytes
}

/// Where an item's bytes are (`_StorageInfo`, torch's or OLMo-core's class).
public struct DCPStorageInfo: Equatable, Sendable {
    public var relativePath: String
    public var offset: Int
    public var length: Int

    public init(relativePath: String, offset: Int, length: Int) {
        self.relativePath = relativePath
        self.offset = offset
        self.length = length
    }

    /// The byte range in its data file (the caller checked it against overflow).
    public var range: Range<Int> { offset..<offset + length }
}

/// `MetadataIndex` as Python compares it: fqn and offset (the `index` field is only a hint).
public struct DCPStorageKey: Hashable, Sendable {
    public var fqn: String
    /// `nil` for bytes items.
    public var offsets: [Int]?

    public init(fqn: String, offsets: [Int]?) {
        self.fqn = fqn
        self.offsets = offsets
    }
}

/// The parts of a DCP `.metadata` moe-ckpt uses, in file order. Everything else
/// (`storage_meta`, Megatron's `all_local_plans`) is informational and not kept.
public struct DCPMetadata: Sendable {
    /// fqn → item, in `state_dict_metadata` order.
    public var items: [(fqn: String, info: DCPItemInfo)]
    /// Where each chunk and bytes item is stored.
    public var storage: [DCPStorageKey: DCPStorageInfo]
    /// The `MetadataIndex.index` hint written for each storage key (OLMo-core writes one).
    public var indexHints: [DCPStorageKey: Int]
    /// OLMo-core's `planner_data` (fqn → path tuple), `nil` when absent (Megatron).
    public var plannerData: PickleValue?
    /// `'1.0.0'` (torch, Megatron) or `nil` (OLMo-core).
    public var version: String?

    public init(
        items: [(fqn: String, info: DCPItemInfo)] = [], storage: [DCPStorageKey: DCPStorageInfo] = [:],
        indexHints: [DCPStorageKey: Int] = [:], plannerData: PickleValue? = nil, version: String? = nil
    ) {
        self.items = items
        self.storage = storage
        self.indexHints = indexHints
        self.plannerData = plannerData
        self.version = version
    }

    /// The item for `fqn`.
    public func item(_ fqn: String) -> DCPItemInfo? {
        items.first { $0.fqn == fqn }?.info
    }
}
