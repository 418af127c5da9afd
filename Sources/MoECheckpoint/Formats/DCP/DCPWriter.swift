import Foundation

/// One global tensor to write, with the chunks each rank stores and where their bytes come from.
public struct DCPWriteTensor {
    /// A source holding some of the tensor's chunks as contiguous byte ranges: one layer of a
    /// layer-stacked tensor, or the whole tensor.
    public struct Part {
        public let source: any TensorSource
        /// `(index into chunks, bytes of the chunk within source, writing rank)`.
        public let chunks: [(chunk: Int, bytes: Range<Int>, rank: Int)]

        public init(source: any TensorSource, chunks: [(chunk: Int, bytes: Range<Int>, rank: Int)]) {
            self.source = source
            self.chunks = chunks
        }
    }

    public let fqn: String
    public let info: DCPTensorInfo
    public let parts: [Part]

    public init(fqn: String, info: DCPTensorInfo, parts: [Part]) {
        self.fqn = fqn
        self.info = info
        self.parts = parts
    }
}

/// Writes a DCP folder the way torch's `FileSystemWriter` lays it out: every item a complete
/// `torch.save` archive (folder `archive`) appended to its rank's `__{rank}_{bucket}.distcp`, and
/// `.metadata` written last, after every data file is complete.
///
/// It is the one writer core behind Megatron's torch_dist and OLMo-core's trainer checkpoints;
/// their differences are a `DCPFlavor`. Tensors are pulled one part at a time, so memory stays
/// bounded by the largest part.
public final class DCPWriter {
    public let folder: String
    public let flavor: DCPFlavor
    private var metadata = DCPMetadata()
    private var files: [String: OutputFile] = [:]
    private var fileOrder: [String] = []
    private var seen = Set<String>()
    private let progress: Progress?

    /// Creates `folder` (which must not exist) for the data files and `.metadata`.
    public init(folder: String, flavor: DCPFlavor, progress: Progress? = nil) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        self.folder = folder
        self.flavor = flavor
        self.progress = progress
        metadata.version = flavor.version
    }

    /// The output file of `rank`'s `bucket`, created on first use.
    private func file(rank: Int, bucket: Int) throws -> (name: String, file: OutputFile) {
        let name = "__\(rank)_\(bucket).distcp"
        if let file = files[name] { return (name, file) }
        let file = try OutputFile(creating: (folder as NSString).appendingPathComponent(name))
        files[name] = file
        fileOrder.append(name)
        return (name, file)
    }

    private func register(_ fqn: String, _ item: DCPItemInfo) {
        precondition(seen.insert(fqn).inserted, "fqn \(fqn) written twice")
        metadata.items.append((fqn, item))
        if flavor.writesPlannerData {
            let parts = fqn.split(separator: ".", maxSplits: 1).map { PickleValue.string(String($0)) }
            let planner = metadata.plannerData?.dictValue ?? PickleDict()
            planner.set(fqn, .tuple(parts))
            metadata.plannerData = .dict(planner)
        }
    }

    /// Writes every chunk of `tensor` into its rank's file.
    public func write(_ tensor: DCPWriteTensor) throws {
        try DCPChunkValidator(file: folder, key: tensor.fqn).validate(tensor.info)
        register(tensor.fqn, .tensor(tensor.info))
        for part in tensor.parts {
            try part.source.withBytes { all in
                for (index, range, rank) in part.chunks {
                    let chunk = tensor.info.chunks[index]
                    precondition(range.count == chunk.elementCount * tensor.info.dtype.byteSize, "chunk bytes match its size")
                    let (name, output) = try file(rank: rank, bucket: 0)
                    let zip = TorchZipWriter(appendingTo: output, archiveName: "archive")
                    let start = output.position
                    var storages = TorchSaveWriter.Storages()
                    let item = storages.tensor(dtype: tensor.info.dtype, shape: chunk.sizes, bytes: UnsafeRawBufferPointer(rebasing: all[range]))
                    try TorchSaveWriter.write(item, storages: storages, into: zip)
                    let key = DCPStorageKey(fqn: tensor.fqn, offsets: chunk.offsets)
                    metadata.storage[key] = DCPStorageInfo(relativePath: name, offset: start, length: output.position - start)
                    if flavor.writesIndexHints { metadata.indexHints[key] = index }
                    progress?.advance(by: range.count)
                }
            }
        }
    }

    /// Writes an opaque bytes item (a `torch.save` archive) into `rank`'s bytes bucket.
    public func write(bytes: [UInt8], fqn: String, rank: Int) throws {
        register(fqn, .bytes)
        let (name, output) = try file(rank: rank, bucket: flavor.bytesBucket)
        let start = output.position
        try output.write(bytes)
        metadata.storage[DCPStorageKey(fqn: fqn, offsets: nil)] = DCPStorageInfo(relativePath: name, offset: start, length: bytes.count)
    }

    /// Writes `torch.save(object)` as a bytes item into `rank`'s bytes bucket (Megatron's
    /// ShardedObjects: `_extra_state`, `common_state`).
    public func write(object: PickleValue, fqn: String, rank: Int) throws {
        register(fqn, .bytes)
        let (name, output) = try file(rank: rank, bucket: flavor.bytesBucket)
        let start = output.position
        try TorchSaveWriter.write(object, into: TorchZipWriter(appendingTo: output, archiveName: "archive"))
        metadata.storage[DCPStorageKey(fqn: fqn, offsets: nil)] = DCPStorageInfo(relativePath: name, offset: start, length: output.position - start)
    }

    /// Closes the data files, then writes `.metadata`.
    public func finish(checkpointID: String) throws {
        for name in fileOrder { try files[name]?.close() }
        let value = DCPMetadataEncoder(flavor: flavor).encode(metadata, checkpointID: checkpointID, saveID: UUID().uuidString.lowercased())
        try OutputFile.write(try Pickler().pickle(value), to: (folder as NSString).appendingPathComponent(DCPFolder.metadataName))
    }
}
