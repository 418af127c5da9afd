import CHDF5

/// A tensor stored as one HDF5 dataset, read only when a writer or the forward asks for it:
/// the whole dataset, or a hyperslab of rows along the first dimension (one expert's slice of a
/// stacked `[E, ...]` tensor), so an EP split never loads the other experts.
public struct HDF5Tensor: TensorSource {
    let file: HDF5File
    let info: HDF5DatasetInfo
    /// The rows of the first dimension handed out; `nil` for the whole dataset.
    public let rows: Range<Int>?

    init(file: HDF5File, info: HDF5DatasetInfo, rows: Range<Int>? = nil) {
        self.file = file
        self.info = info
        self.rows = rows
    }

    /// The state-dict key.
    public var key: String { info.key }
    /// The dataset's path in the file.
    public var path: String { info.path }
    /// The element type, from the dataset's `dtype` attribute (checked against the stored type).
    public var dtype: DType { info.dtype }

    /// The shape handed out: the dataset's, with the first dimension cut to `rows`.
    public var shape: [Int] {
        guard let rows else { return info.shape }
        return [rows.count] + info.shape.dropFirst()
    }

    /// The same dataset restricted to `rows` of its first dimension (for example experts
    /// `e..<e+1` of `[E, F, D]`); reading it reads only those rows.
    public func rows(_ range: Range<Int>) throws -> HDF5Tensor {
        guard let first = info.shape.first, range.lowerBound >= 0, range.upperBound <= first else {
            throw HDF5Error.sliceOutOfRange(file: file.path, key: key, rows: range, dimension: info.shape.first ?? 0)
        }
        return HDF5Tensor(file: file, info: info, rows: range)
    }

    /// Reads the dataset (or the selected rows) now, and hands `body` the little-endian bytes.
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let bytes = try read()
        return try bytes.withUnsafeBytes(body)
    }

    /// Reads the selection into a new buffer of exactly `byteCount` bytes (checked against the
    /// file's storage when the dataset was opened).
    private func read() throws -> [UInt8] {
        let count = byteCount
        return try HDF5Library.withLock {
            let scope = file.scope(key)
            let dataset = try scope.own(H5Dopen2(file.handle.id, path, hid_t(H5P_DEFAULT)), .dataset, call: "H5Dopen2")
            let stored = try scope.own(H5Dget_type(dataset.id), .datatype, call: "H5Dget_type")
            let memoryType = try HDF5StoredType.memoryType(readingStored: stored.id, scope)
            var memorySpace: HDF5Object?
            var fileSpace: HDF5Object?
            if let rows, count > 0 {
                let selectedFile = try scope.own(H5Dget_space(dataset.id), .dataspace, call: "H5Dget_space")
                var start = [hsize_t](repeating: 0, count: info.shape.count)
                start[0] = hsize_t(rows.lowerBound)
                var extent = shape.map { hsize_t($0) }
                try scope.check(H5Sselect_hyperslab(selectedFile.id, H5S_SELECT_SET, &start, nil, &extent, nil), call: "H5Sselect_hyperslab")
                memorySpace = try scope.own(H5Screate_simple(Int32(extent.count), &extent, nil), .dataspace, call: "H5Screate_simple")
                fileSpace = selectedFile
            }
            return try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
                if count > 0 {
                    try scope.check(
                        H5Dread(
                            dataset.id, memoryType.id, memorySpace?.id ?? mc_h5s_all(), fileSpace?.id ?? mc_h5s_all(),
                            hid_t(H5P_DEFAULT), buffer.baseAddress),
                        call: "H5Dread")
                }
                initialized = count
            }
        }
    }
}
