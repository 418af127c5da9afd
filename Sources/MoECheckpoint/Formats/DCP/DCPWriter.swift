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
/// `torch.save` archive (folder `archive`) appended to its rank's `__{rank}_{k}.distcp`, and
/// `.metadata` written last, after every data file is complete.
///
/// It is the one writer core behind Megatron's torch_dist and OLMo-core's trainer checkpoints;
/// their differences are a `DCPFlavor`. Tensors are pulled one part at a time, so memory stays
/// bounded by the largest part. A rank's tensor file that has reached `maxFileBytes` is closed
/// and the next item starts a new one, so a large checkpoint has many files a cluster can
/// write in parallel (`OutputScope`); a part reads only the chunks that go to its own files.
public final class DCPWriter {
    public let folder: String
    public let flavor: DCPFlavor
    private var metadata = DCPMetadata()
    private var files: [String: OutputFile] = [:]
    private var fileOrder: [String] = []
    /// The tensor file each rank currently appends to (`0`, then `bytesBucket + 1`, `+ 2`, …).
    private var tensorBucket: [Int: Int] = [:]
    private var seen = Set<String>()
    private let progress: Progress?
    private let scope: OutputScope
    private let maxFileBytes: Int

    /// Creates `folder` (which must not exist in a whole conversion) for the data files and `.metadata`.
    public init(
        folder: String, flavor: DCPFlavor, progress: Progress? = nil, scope: OutputScope = OutputScope(),
        maxFileBytes: Int = WriteRequest.defaultMaxShardBytes
    ) throws {
        try scope.makeDirectory(folder)
        self.folder = folder
        self.flavor = flavor
        self.progress = progress
        self.scope = scope
        self.maxFileBytes = maxFileBytes
        metadata.version = flavor.version
    }

    /// The output file of `rank`'s `bucket`, created on first use.
    private func file(rank: Int, bucket: Int) throws -> (name: String, file: OutputFile) {
        let name = "__\(rank)_\(bucket).distcp"
        if let file = files[name] { return (name, file) }
        let file = try scope.dataFile((folder as NSString).appendingPathComponent(name))
        files[name] = file
        fileOrder.append(name)
        return (name, file)
    }

    /// `rank`'s current tensor file, moving to a new one once it holds `maxFileBytes`.
    private func tensorFile(rank: Int) throws -> (name: String, file: OutputFile) {
        let bucket = tensorBucket[rank] ?? 0
        let current = try file(rank: rank, bucket: bucket)
        guard current.file.position >= maxFileBytes else { return current }
        try current.file.close()
        let next = bucket == 0 ? max(flavor.bytesBucket, 0) + 1 : bucket + 1
        tensorBucket[rank] = next
        return try file(rank: rank, bucket: next)
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

    /// Writes every chunk of `tensor` into its rank's file. Each part's files are chosen first;
    /// only the bytes of chunks that go to files this process writes are read.
    public func write(_ tensor: DCPWriteTensor) throws {
        try DCPChunkValidator(file: folder, key: tensor.fqn).validate(tensor.info)
        register(tensor.fqn, .tensor(tensor.info))
        for part in tensor.parts {
            var targets: [Int: (name: String, file: OutputFile)] = [:]
            for rank in Set(part.chunks.map(\.rank)).sorted() { targets[rank] = try tensorFile(rank: rank) }
            let owned = part.chunks.filter { !targets[$0.rank]!.file.isCounting }
            let groups = Self.groups(owned.isEmpty ? [] : part.chunks, owned: Set(owned.map(\.chunk)), info: tensor.info)
            for (number, group) in groups.enumerated() {
                if number + 1 < groups.count { part.source.prefetch(groups[number + 1].covering) }
                try write(tensor, group.chunks, from: part.source, in: group.covering, to: targets)
            }
            if owned.isEmpty { try write(tensor, part.chunks, from: part.source, in: 0..<0, to: targets) }
        }
    }

    /// Chunks written from one read of the source: consecutive chunks until their bytes span
    /// `groupBytes`, so a layer of experts is read, assembled and written in steps of that size
    /// (memory stays at one step; the next step's pages are requested meanwhile). A step ends
    /// only where a chunk starts a new expert (not between the gate and up halves of one), so no
    /// expert is assembled twice. The range covers only chunks this process writes.
    static func groups(
        _ chunks: [(chunk: Int, bytes: Range<Int>, rank: Int)], owned: Set<Int>, info: DCPTensorInfo
    ) -> [(chunks: [(chunk: Int, bytes: Range<Int>, rank: Int)], covering: Range<Int>)] {
        func startsExpert(_ index: Int) -> Bool {
            let chunk = info.chunks[index]
            return zip(chunk.offsets, chunk.sizes).allSatisfy { offset, size in size == 1 || offset == 0 }
        }
        var result: [(chunks: [(chunk: Int, bytes: Range<Int>, rank: Int)], covering: Range<Int>)] = []
        var current: [(chunk: Int, bytes: Range<Int>, rank: Int)] = []
        var covering: Range<Int>?
        for chunk in chunks {
            if let span = covering, span.count >= groupBytes, startsExpert(chunk.chunk) {
                result.append((current, span))
                (current, covering) = ([], nil)
            }
            current.append(chunk)
            if owned.contains(chunk.chunk) {
                covering = covering.map { min($0.lowerBound, chunk.bytes.lowerBound)..<max($0.upperBound, chunk.bytes.upperBound) } ?? chunk.bytes
            }
        }
        if !current.isEmpty { result.append((current, covering ?? 0..<0)) }
        return result
    }

    /// Bytes of source read, assembled and written per step.
    static let groupBytes = 64 << 20

    /// Writes `chunks` of `tensor`, those going to files this process writes from the bytes of
    /// `covering` of `source` (read once), the others counted.
    private func write(
        _ tensor: DCPWriteTensor, _ chunks: [(chunk: Int, bytes: Range<Int>, rank: Int)], from source: any TensorSource, in covering: Range<Int>,
        to targets: [Int: (name: String, file: OutputFile)]
    ) throws {
        try Self.withBytes(of: source, in: covering) { held in
            for (index, range, rank) in chunks {
                let chunk = tensor.info.chunks[index]
                precondition(range.count == chunk.elementCount * tensor.info.dtype.byteSize, "chunk bytes match its size")
                let (name, output) = targets[rank]!
                let zip = TorchZipWriter(appendingTo: output, archiveName: "archive")
                let start = output.position
                var storages = TorchSaveWriter.Storages()
                let item = storages.tensor(dtype: tensor.info.dtype, shape: chunk.sizes, size: range.count) { emit in
                    try emit(UnsafeRawBufferPointer(rebasing: held[range.lowerBound - covering.lowerBound..<range.upperBound - covering.lowerBound]))
                }
                try TorchSaveWriter.write(item, storages: storages, into: zip)
                let key = DCPStorageKey(fqn: tensor.fqn, offsets: chunk.offsets)
                metadata.storage[key] = DCPStorageInfo(relativePath: name, offset: start, length: output.position - start)
                if flavor.writesIndexHints { metadata.indexHints[key] = index }
                if !output.isCounting { progress?.advance(by: range.count) }
            }
        }
    }

    /// The bytes of `range` of `source`, read only when the range is not empty.
    private static func withBytes(of source: any TensorSource, in range: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        if range.isEmpty { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        if range == 0..<source.byteCount { return try source.withBytes(body) }
        try source.withBytes(in: range, body)
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

    /// Closes the data files, then writes `.metadata` (unless this process is one part). The
    /// save ID is derived from the plan, so every process (and every rerun) writes the same bytes.
    public func finish(checkpointID: String) throws {
        for name in fileOrder { try files[name]?.close() }
        guard scope.writesSharedFiles else { return }
        let encoder = DCPMetadataEncoder(flavor: flavor)
        let draft = try Pickler().pickle(encoder.encode(metadata, checkpointID: checkpointID, saveID: ""))
        let value = encoder.encode(metadata, checkpointID: checkpointID, saveID: Self.saveID(draft))
        try scope.sharedFile(try Pickler().pickle(value), to: (folder as NSString).appendingPathComponent(DCPFolder.metadataName))
    }

    /// A UUID-shaped digest of the metadata (torch only compares save IDs for equality).
    static func saveID(_ bytes: [UInt8]) -> String {
        let (high, low) = FNV1a.hash128(bytes)
        let hex = String(format: "%016llx%016llx", high, low)
        let c = Array(hex)
        return [c[0..<8], c[8..<12], c[12..<16], c[16..<20], c[20..<32]].map { String($0) }.joined(separator: "-")
    }
}
