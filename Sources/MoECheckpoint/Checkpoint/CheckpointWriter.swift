/// Everything a container writer needs: the target layout's logical, global state dict (lazy
/// tensors), how to shard it, and the metadata to write beside it.
public struct WriteRequest: Sendable {
    /// The target framework.
    public var layout: Layout
    /// The target table (so writers can find per-expert keys when they split over EP ranks).
    public var table: LayoutTable?
    /// Tensors in target naming, with global expert numbering.
    public var stateDict: StateDict
    /// Target sharding (`--ep`, `--tp`, `--pp`).
    public var parallelism: Parallelism
    /// The routing config to record in the target's metadata.
    public var moe: MoEConfig
    /// The source's metadata, for writers that can carry it over (Megatron `args`, HF `config.json`).
    public var sourceConfig: [ConfigSource]
    /// Whether the destination is one file (`out.safetensors`, `out.pt`, `out.h5`) rather than a folder.
    public var singleFile: Bool
    /// Reports bytes written.
    public var progress: Progress?
    /// `--compress`: compress where the format can (HDF5: chunked shuffle + deflate); others ignore it.
    public var compress: Bool
    /// The path of the checkpoint being converted, for writers that record provenance (HDF5).
    public var source: String?
    /// The source's non-tensor pickle values, for writers of the same framework.
    public var pickledObjects = PickledObjects()
    /// Which files this process writes (everything, one `--part`, or `--finalize`'s shared files).
    public var scope = OutputScope()
    /// `--shard-size`: the size at which a data file (safetensors shard, DCP data file) is full
    /// and the next one starts.
    public var maxShardBytes = WriteRequest.defaultMaxShardBytes
    /// transformers' historical default shard size.
    public static let defaultMaxShardBytes = 5_000_000_000
    /// The attention head layout, when known, for metadata that states it (Megatron `args`, HF
    /// and OLMo-core `config.json`).
    public var attentionHeads: AttentionHeads?

    public init(
        layout: Layout, table: LayoutTable?, stateDict: StateDict, parallelism: Parallelism = Parallelism(),
        moe: MoEConfig = MoEConfig(), sourceConfig: [ConfigSource] = [], singleFile: Bool = false, progress: Progress? = nil,
        compress: Bool = false, source: String? = nil
    ) {
        self.compress = compress
        self.source = source
        self.singleFile = singleFile
        self.layout = layout
        self.table = table
        self.stateDict = stateDict
        self.parallelism = parallelism
        self.moe = moe
        self.sourceConfig = sourceConfig
        self.progress = progress
    }
}

/// A container writer. It writes into `path`, a fresh temporary location chosen by
/// `AtomicOutput`; renaming into place is not its business.
public protocol CheckpointWriter: Sendable {
    static var format: ContainerFormat { get }
    /// Whether the output is one file rather than a folder.
    static var writesSingleFile: Bool { get }
    static func write(_ request: WriteRequest, to path: String) throws
}

/// The registry of writers.
public enum CheckpointWriters {
    public static let all: [any CheckpointWriter.Type] = [
        SafetensorsCheckpointWriter.self,
        HDF5CheckpointWriter.self,
        PTCheckpointWriter.self,
        MegatronLegacyWriter.self,
        MegatronDistWriter.self,
        OLMoDCPWriter.self,
    ]

    public static func writer(for format: ContainerFormat) -> (any CheckpointWriter.Type)? {
        all.first { $0.format == format }
    }
}

/// Counts bytes for the progress line; the CLI prints it, the library only counts.
public final class Progress: @unchecked Sendable {
    public let totalBytes: Int
    private let onUpdate: @Sendable (Int, Int) -> Void
    public private(set) var writtenBytes = 0

    public init(totalBytes: Int, onUpdate: @escaping @Sendable (Int, Int) -> Void) {
        self.totalBytes = totalBytes
        self.onUpdate = onUpdate
    }

    public func advance(by bytes: Int) {
        writtenBytes += bytes
        onUpdate(writtenBytes, totalBytes)
    }
}
