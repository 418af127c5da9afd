import Foundation

/// An opened `torch.save` archive: the zip validated, `data.pkl` run through the allow-list
/// machine, and every storage it names checked against its record. No tensor bytes are read.
public final class TorchSaveFile: @unchecked Sendable {
    /// The archive.
    public let archive: ZipArchive
    /// The unpickled object (a dict for every checkpoint moe-ckpt reads).
    public let root: PickleValue
    /// The storages `data.pkl` names, by key, each checked against its record.
    public let storages: [String: (ref: TorchStorageRef, entry: ZipEntry)]
    /// The `version` record's value.
    public let formatVersion: Int

    /// How messages name the file.
    public var label: String { archive.label }

    /// The highest serialization version torch reads (`kMaxSupportedFileFormatVersion`).
    public static let maxVersion = 10

    /// Maps and opens `path`.
    public convenience init(path: String, verifyCRC: Bool = true, strict: Bool = false, limits: PickleLimits = PickleLimits()) throws {
        try self.init(archive: ZipArchive(path: path, verifyCRC: verifyCRC), strict: strict, limits: limits)
    }

    /// Opens an already validated archive (DCP embeds them in `.distcp` files).
    public init(archive: ZipArchive, strict: Bool = false, limits: PickleLimits = PickleLimits()) throws {
        self.archive = archive
        let label = archive.label
        let versionEntry = try archive.entry(".data/version") ?? archive.requireEntry("version")
        let versionText = String(decoding: try archive.readRecord(versionEntry, limit: TorchZipLimits.maxTextRecordBytes), as: UTF8.self)
        guard let version = Int(versionText.trimmingCharacters(in: .whitespacesAndNewlines)), (1...Self.maxVersion).contains(version) else {
            throw TorchZipError.invalidRecord(file: label, name: "version", expected: "an integer from 1 to \(Self.maxVersion)", found: "'\(versionText)'")
        }
        formatVersion = version
        if let byteOrder = archive.entry("byteorder") {
            let text = String(decoding: try archive.readRecord(byteOrder, limit: TorchZipLimits.maxTextRecordBytes), as: UTF8.self)
            guard text == "little" else {
                throw TorchZipError.invalidRecord(
                    file: label, name: "byteorder", expected: "'little' (big-endian archives are not supported)", found: "'\(text)'")
            }
        }
        let pickle = try archive.requireEntry("data.pkl")
        guard pickle.uncompressedSize <= UInt64(TorchZipLimits.maxPickleBytes) else {
            throw TorchZipError.recordTooLarge(file: label, name: "data.pkl", size: pickle.uncompressedSize, limit: TorchZipLimits.maxPickleBytes)
        }
        let unpickler = Unpickler(source: label + ": data.pkl", limits: limits, strict: strict)
        root = try archive.withRecord(pickle) { try unpickler.unpickle($0) }
        var storages: [String: (ref: TorchStorageRef, entry: ZipEntry)] = [:]
        try Self.collectStorages(root) { ref in
            if let known = storages[ref.key] {
                guard known.ref.typeName == ref.typeName, known.ref.numel == ref.numel else {
                    throw TorchSaveError.inconsistentStorage(
                        file: label, key: ref.key, first: "\(known.ref.typeName)(\(known.ref.numel))", second: "\(ref.typeName)(\(ref.numel))")
                }
                return
            }
            guard let entry = archive.entry("data/" + ref.key) else { throw TorchSaveError.missingStorage(file: label, key: ref.key) }
            let expected = ref.byteCount ?? Int.max
            guard entry.uncompressedSize == UInt64(expected) else {
                throw TorchSaveError.storageSizeMismatch(
                    file: label, key: ref.key, storageType: ref.typeName, expectedBytes: expected, foundBytes: entry.uncompressedSize)
            }
            storages[ref.key] = (ref, entry)
        }
        self.storages = storages
    }

    /// Calls `visit` for every storage reference in `value` (tensors' storages included).
    static func collectStorages(_ value: PickleValue, _ visit: (TorchStorageRef) throws -> Void) throws {
        switch value {
        case .tensor(let tensor):
            try visit(tensor.storage)
            if let metadata = tensor.metadata { try collectStorages(metadata, visit) }
        case .storage(let storage):
            try visit(storage)
        default:
            try PickleWalk.forEachChild(of: value) { try collectStorages($0, visit) }
        }
    }

    /// A lazy source for `tensor`, read in place from its storage record. `key` names it in messages.
    public func source(for tensor: TorchTensorRef, key: String) throws -> TorchRecordTensor {
        guard let storage = storages[tensor.storage.key] else { throw TorchSaveError.missingStorage(file: label, key: tensor.storage.key) }
        guard tensor.isContiguous else {
            throw TorchSaveError.nonContiguousTensor(file: label, key: key, shape: tensor.shape, stride: tensor.stride)
        }
        // The machine checked the view against the storage's element count, and the record
        // against the storage's byte count, so this range lies inside the record.
        return TorchRecordTensor(
            archive: archive, entry: storage.entry, byteOffset: tensor.storageOffset * tensor.dtype.byteSize,
            dtype: tensor.dtype, shape: tensor.shape)
    }
}

/// A tensor read in place from a storage record of a torch.save archive: a mapped range of the
/// file for stored records (the torch default), inflated on use for re-zipped archives. The
/// record's CRC-32 is checked the first time any tensor of it is read.
public struct TorchRecordTensor: TensorSource {
    public let archive: ZipArchive
    public let entry: ZipEntry
    /// Where the tensor starts in the record.
    public let byteOffset: Int
    public let dtype: DType
    public let shape: [Int]

    /// The mapped bytes, when the record is stored (every archive torch writes).
    public var mapped: MappedTensor? {
        guard entry.isStored else { return nil }
        let start = archive.fileRange(of: entry).lowerBound + byteOffset
        return MappedTensor(file: archive.file, byteRange: start..<start + byteCount, dtype: dtype, shape: shape)
    }

    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        if let mapped {
            try archive.verifyOnce(entry)
            return try mapped.withBytes(body)
        }
        let count = byteCount
        return try archive.withRecord(entry) { record in
            try body(UnsafeRawBufferPointer(rebasing: record[byteOffset..<byteOffset + count]))
        }
    }
}
