import CHDF5

/// One dataset, checked against the convention and the rules of formats.md §6.6 before any of
/// its data is read: the key and dtype attributes, the stored type, the extent, the storage
/// layout and filters, and whether the file can back the bytes the shape asks for.
struct HDF5DatasetInfo: Sendable {
    /// Where the dataset is (`/model/layers/0/...` or `/__flat__/3`).
    let path: String
    /// The state-dict key (the `key` attribute).
    let key: String
    let dtype: DType
    let shape: [Int]

    /// Filters a tensor may use: deflate, shuffle and fletcher32 (what `--compress` and h5py's
    /// common options produce). Others (szip, scale-offset, n-bit, plugins) are refused.
    static let allowedFilters: Set<Int> = [1, 2, 3]

    /// Checks the object at `path`; `nil` when it is not a dataset (a group or named datatype).
    ///
    /// `strict` (a moe-ckpt file) requires the `key` and `dtype` attributes; otherwise the key is
    /// the path with dots and the dtype follows the stored type.
    static func inspect(_ path: String, in file: HDF5File, strict: Bool) throws -> HDF5DatasetInfo? {
        try HDF5Library.withLock {
            var scope = file.scope(path)
            let object = try scope.own(H5Oopen(file.handle.id, path, hid_t(H5P_DEFAULT)), .object, call: "H5Oopen")
            guard H5Iget_type(object.id) == H5I_DATASET else { return nil }

            let key: String
            if let stored = try object.stringAttribute(HDF5Convention.Dataset.key, scope) {
                guard !stored.isEmpty else {
                    throw HDF5Error.invalidAttribute(file: file.path, object: path, attribute: HDF5Convention.Dataset.key, reason: "empty key")
                }
                key = stored
            } else if strict {
                throw HDF5Error.missingAttribute(file: file.path, object: path, attribute: HDF5Convention.Dataset.key)
            } else {
                key = HDF5KeyPaths.key(fromPath: path)
            }
            scope = scope.at(key)

            let type = try scope.own(H5Dget_type(object.id), .datatype, call: "H5Dget_type")
            let stored = try HDF5StoredType(type.id, scope)
            let dtype = try resolveDType(stored, object: object, strict: strict, path: path, key: key, scope)
            let shape = try extent(of: object, key: key, scope)
            if let declared = try object.integersAttribute(HDF5Convention.Dataset.shape, scope), declared.map({ Int($0) }) != shape {
                throw HDF5Error.shapeMismatch(file: file.path, key: key, expected: declared.map { Int($0) }, found: shape)
            }
            guard let elements = TensorShape.elementCount(shape), elements <= HDF5Limits.maxElements else {
                throw HDF5Error.limitExceeded(file: file.path, object: key, what: "elements", limit: HDF5Limits.maxElements, found: TensorShape.elementCount(shape) ?? Int.max)
            }
            try checkStorage(of: object, bytes: elements * dtype.byteSize, file: file, key: key, scope)
            return HDF5DatasetInfo(path: path, key: key, dtype: dtype, shape: shape)
        }
    }

    /// The dtype from the `dtype` attribute, which must agree with the stored type.
    private static func resolveDType(
        _ stored: HDF5StoredType, object: HDF5Object, strict: Bool, path: String, key: String, _ scope: HDF5Scope
    ) throws -> DType {
        guard let name = try object.stringAttribute(HDF5Convention.Dataset.dtype, scope) else {
            if strict { throw HDF5Error.missingAttribute(file: scope.file, object: path, attribute: HDF5Convention.Dataset.dtype) }
            guard let inferred = stored.inferredDType else { throw HDF5Error.unsupportedType(file: scope.file, key: key, found: stored.description) }
            return inferred
        }
        guard let dtype = DType(rawValue: name) else { throw HDF5Error.unknownDType(file: scope.file, key: key, dtype: name) }
        guard stored.isCompatible(with: dtype) else {
            throw HDF5Error.dtypeMismatch(
                file: scope.file, key: key, dtype: name, expected: HDF5StoredType.expected(for: dtype).description, found: stored.description)
        }
        return dtype
    }

    /// The dataset's dimensions: `[]` for a scalar, the simple extent otherwise.
    private static func extent(of dataset: HDF5Object, key: String, _ scope: HDF5Scope) throws -> [Int] {
        let space = try scope.own(H5Dget_space(dataset.id), .dataspace, call: "H5Dget_space")
        switch H5Sget_simple_extent_type(space.id) {
        case H5S_SCALAR: return []
        case H5S_SIMPLE: break
        case H5S_NULL: throw HDF5Error.unsupportedShape(file: scope.file, key: key, reason: "a null dataspace holds no value")
        default: throw scope.failure(call: "H5Sget_simple_extent_type")
        }
        let rank = try scope.checkCount(H5Sget_simple_extent_ndims(space.id), call: "H5Sget_simple_extent_ndims")
        guard rank <= TensorShape.maxRank else {
            throw HDF5Error.unsupportedShape(file: scope.file, key: key, reason: "\(rank) dimensions, more than \(TensorShape.maxRank)")
        }
        var dims = [hsize_t](repeating: 0, count: rank)
        try scope.checkCount(H5Sget_simple_extent_dims(space.id, &dims, nil), call: "H5Sget_simple_extent_dims")
        return try dims.map { dim in
            guard dim <= hsize_t(Int.max) else {
                throw HDF5Error.limitExceeded(file: scope.file, object: key, what: "elements in one dimension", limit: Int.max, found: Int.max)
            }
            return Int(dim)
        }
    }

    /// Refuses external and virtual storage and unknown filters, and requires the stored bytes
    /// to back `bytes`: exactly (or more, for chunked) without filters, within deflate's maximum
    /// ratio with them. An unallocated dataset of a huge shape would otherwise make a reader
    /// allocate whatever the shape says.
    private static func checkStorage(of dataset: HDF5Object, bytes: Int, file: HDF5File, key: String, _ scope: HDF5Scope) throws {
        let create = try scope.own(H5Dget_create_plist(dataset.id), .propertyList, call: "H5Dget_create_plist")
        let layout = H5Pget_layout(create.id)
        if layout == H5D_LAYOUT_ERROR { throw scope.failure(call: "H5Pget_layout") }
        if layout == H5D_VIRTUAL { throw HDF5Error.externalStorage(file: file.path, key: key) }
        if try scope.checkCount(H5Pget_external_count(create.id), call: "H5Pget_external_count") > 0 {
            throw HDF5Error.externalStorage(file: file.path, key: key)
        }
        let filters = try scope.checkCount(H5Pget_nfilters(create.id), call: "H5Pget_nfilters")
        for index in 0..<filters {
            var flags: UInt32 = 0
            var values = 0
            var config: UInt32 = 0
            let filter = Int(H5Pget_filter2(create.id, UInt32(index), &flags, &values, nil, 0, nil, &config))
            if filter < 0 { throw scope.failure(call: "H5Pget_filter2") }
            guard allowedFilters.contains(filter) else { throw HDF5Error.unsupportedFilter(file: file.path, key: key, filter: filter) }
        }
        let stored = H5Dget_storage_size(dataset.id)
        let storedBytes = stored > hsize_t(Int.max) ? Int.max : Int(stored)
        guard storedBytes <= file.size else {
            throw HDF5Error.storageMismatch(file: file.path, key: key, expectedBytes: bytes, storedBytes: storedBytes)
        }
        let backed = filters == 0
            ? storedBytes >= bytes
            : storedBytes.multipliedReportingOverflow(by: HDF5Limits.maxDeflateRatio).partialValue + HDF5Limits.compressionSlackBytes >= bytes
                && (storedBytes > 0 || bytes == 0)
        guard backed else { throw HDF5Error.storageMismatch(file: file.path, key: key, expectedBytes: bytes, storedBytes: storedBytes) }
    }
}
