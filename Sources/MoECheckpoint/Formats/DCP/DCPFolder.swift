import Foundation

/// An opened torch.distributed.checkpoint folder: `.metadata` decoded and validated, every
/// storage range checked against its data file's size, and nothing else read.
///
/// Data files are `stat`ed when the folder is opened (so a missing file or a range past the
/// end is reported before any conversion starts) but mapped only when a tensor's bytes are
/// first needed, so `inspect` never opens a `.distcp` file.
public final class DCPFolder: @unchecked Sendable {
    /// The folder.
    public let path: String
    /// `<path>/.metadata`, named in every message about the metadata.
    public let metadataPath: String
    public let metadata: DCPMetadata
    /// Tensor entries by fqn.
    public let tensors: [String: DCPTensorInfo]
    /// The data files the storage entries reference, with their sizes.
    public let dataFiles: [String: Int]

    private let lock = NSLock()
    private var mapped: [String: MappedFile] = [:]
    private var opened = 0
    private var itemsRead = 0
    /// Items already parsed: a stacked tensor read expert by expert opens (and CRC-checks) each
    /// item once, not once per expert.
    private var parsed: [DCPStorageKey: TorchRecordTensor] = [:]

    /// The name of the metadata file.
    public static let metadataName = ".metadata"

    /// Reads and validates `<path>/.metadata`.
    public init(path: String) throws {
        self.path = path
        let metadataPath = (path as NSString).appendingPathComponent(Self.metadataName)
        self.metadataPath = metadataPath
        let file = try MappedFile(path: metadataPath)
        let root = try file.withAllBytes { try Unpickler(source: metadataPath).unpickle($0) }
        let metadata = try DCPMetadataDecoder(file: metadataPath).decode(root)
        self.metadata = metadata
        var tensors: [String: DCPTensorInfo] = [:]
        for case (let fqn, .tensor(let info)) in metadata.items { tensors[fqn] = info }
        self.tensors = tensors
        dataFiles = try Self.checkStorage(metadata, folder: path, metadataPath: metadataPath)
    }

    /// Every chunk and bytes item has a storage entry whose file is a plain name in the folder,
    /// exists, holds the range, and shares no bytes with another item.
    static func checkStorage(_ metadata: DCPMetadata, folder: String, metadataPath: String) throws -> [String: Int] {
        var sizes: [String: Int] = [:]
        var ranges: [String: [(range: Range<Int>, key: String)]] = [:]
        func check(_ key: DCPStorageKey) throws {
            guard let info = metadata.storage[key] else {
                throw DCPError.missingStorage(file: metadataPath, key: key.fqn, offsets: key.offsets)
            }
            guard PlainFileName.isPlain(info.relativePath) else {
                throw DCPError.unsafePath(file: metadataPath, key: key.fqn, path: info.relativePath)
            }
            let dataPath = (folder as NSString).appendingPathComponent(info.relativePath)
            let size: Int
            if let known = sizes[info.relativePath] {
                size = known
            } else {
                guard let found = regularFileSize(dataPath) else {
                    throw DCPError.missingDataFile(file: metadataPath, key: key.fqn, dataFile: dataPath)
                }
                sizes[info.relativePath] = found
                size = found
            }
            guard info.offset + info.length <= size else {
                throw DCPError.storageOutOfFile(file: dataPath, key: key.fqn, offset: info.offset, length: info.length, fileSize: size)
            }
            ranges[info.relativePath, default: []].append((info.range, key.fqn))
        }
        for (fqn, item) in metadata.items {
            switch item {
            case .bytes: try check(DCPStorageKey(fqn: fqn, offsets: nil))
            case .tensor(let info):
                for chunk in info.chunks { try check(DCPStorageKey(fqn: fqn, offsets: chunk.offsets)) }
            }
        }
        for (name, items) in ranges {
            let sorted = items.sorted { $0.range.lowerBound < $1.range.lowerBound }
            for (a, b) in zip(sorted, sorted.dropFirst()) where a.range.upperBound > b.range.lowerBound && !a.range.isEmpty && !b.range.isEmpty {
                throw DCPError.overlappingItems(file: (folder as NSString).appendingPathComponent(name), key: b.key, otherKey: a.key)
            }
        }
        return sizes
    }

    /// The size of a regular file, or `nil` when there is none at `path`.
    static func regularFileSize(_ path: String) -> Int? {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_size >= 0 else { return nil }
        return Int(info.st_size)
    }

    // MARK: - Data

    /// How many data files have been mapped (tests check that `inspect` maps none).
    public var openedDataFiles: Int {
        lock.lock()
        defer { lock.unlock() }
        return opened
    }

    /// How many tensor items have been parsed (tests check that one expert reads only its chunks).
    public var tensorItemsRead: Int {
        lock.lock()
        defer { lock.unlock() }
        return itemsRead
    }

    /// The mapping of a data file, made on first use.
    func dataFile(_ name: String) throws -> MappedFile {
        lock.lock()
        defer { lock.unlock() }
        if let file = mapped[name] { return file }
        let file = try MappedFile(path: (path as NSString).appendingPathComponent(name))
        mapped[name] = file
        opened += 1
        return file
    }

    /// The lazy global tensor `fqn`.
    public func tensor(_ fqn: String) throws -> DCPTensor {
        guard let info = tensors[fqn] else { throw DCPError.missingKey(file: metadataPath, key: fqn) }
        return DCPTensor(folder: self, fqn: fqn, info: info)
    }

    /// The raw bytes of a bytes item (a torch.save archive for every DCP saver).
    public func bytesItem(_ fqn: String) throws -> [UInt8] {
        let key = DCPStorageKey(fqn: fqn, offsets: nil)
        guard let info = metadata.storage[key] else { throw DCPError.missingKey(file: metadataPath, key: fqn) }
        return try dataFile(info.relativePath).withBytes(info.range) { Array($0) }
    }

    /// A bytes item opened as the torch.save archive every DCP saver stores there.
    public func bytesItemArchive(_ fqn: String) throws -> ZipArchive {
        let key = DCPStorageKey(fqn: fqn, offsets: nil)
        guard let info = metadata.storage[key] else { throw DCPError.missingKey(file: metadataPath, key: fqn) }
        let file = try dataFile(info.relativePath)
        return try ZipArchive(file: file, range: info.range, label: "\(file.path)[\(info.offset)..<\(info.offset + info.length)]")
    }

    /// The data file holding the first chunk of `fqn` (named in tensor listings; not opened).
    public func firstDataFile(_ fqn: String) -> String {
        guard let chunk = tensors[fqn]?.chunks.first, let info = metadata.storage[DCPStorageKey(fqn: fqn, offsets: chunk.offsets)] else { return metadataPath }
        return (path as NSString).appendingPathComponent(info.relativePath)
    }

    /// The tensor stored for `chunk` of `fqn`, checked against the chunk and the tensor's dtype.
    func chunkTensor(_ fqn: String, chunk: DCPChunk, dtype: DType) throws -> TorchRecordTensor {
        let key = DCPStorageKey(fqn: fqn, offsets: chunk.offsets)
        lock.lock()
        let known = parsed[key]
        lock.unlock()
        if let known { return known }
        guard let info = metadata.storage[key] else { throw DCPError.missingStorage(file: metadataPath, key: fqn, offsets: chunk.offsets) }
        let file = try dataFile(info.relativePath)
        let label = "\(file.path)[\(info.offset)..<\(info.offset + info.length)]"
        lock.lock()
        itemsRead += 1
        lock.unlock()
        let save: TorchSaveFile
        do {
            save = try TorchSaveFile(archive: ZipArchive(file: file, range: info.range, label: label), strict: true)
        } catch TorchSaveError.storageSizeMismatch(_, _, _, let expected, let found) {
            throw DCPError.byteLengthMismatch(file: label, key: fqn, expected: expected, found: Int(clamping: found))
        }
        guard let tensor = save.root.tensorValue else { throw DCPError.notATensor(file: label, key: fqn, found: save.root.kindName) }
        guard tensor.dtype == dtype else {
            throw DCPError.dtypeMismatch(file: label, key: fqn, expected: dtype.rawValue, found: tensor.dtype.rawValue)
        }
        guard tensor.shape == chunk.sizes else {
            throw DCPError.blobShapeMismatch(file: label, key: fqn, expected: chunk.sizes, found: tensor.shape)
        }
        let source = try save.source(for: tensor, key: fqn)
        lock.lock()
        parsed[key] = source
        lock.unlock()
        return source
    }
}
