import CHDF5

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a state dict as one HDF5 file in moe-ckpt's convention, one dataset at a time: each
/// tensor's bytes are pulled from its source, written, and released before the next, so memory
/// stays bounded by the largest tensor.
enum HDF5Writer {
    /// A tensor to write.
    typealias Item = (key: String, source: any TensorSource)

    /// Writes `items` to a new file at `path` with `metadata` as root attributes. With
    /// `compress`, every non-empty tensor is chunked (about 1 MiB per chunk, whole trailing rows)
    /// and filtered with shuffle + deflate; without it datasets are contiguous, which reads fastest.
    static func write(_ items: [Item], metadata: HDF5Metadata, compress: Bool, to path: String, progress: Progress? = nil) throws {
        let paths = try HDF5KeyPaths.plan(items.map(\.key), file: path)
        do {
            let file = try HDF5File.create(path)
            try metadata.write(to: file)
            let linkCreate = try HDF5Library.withLock {
                let scope = file.scope()
                let list = try scope.own(H5Pcreate(mc_h5p_link_create()), .propertyList, call: "H5Pcreate")
                try scope.check(H5Pset_create_intermediate_group(list.id, 1), call: "H5Pset_create_intermediate_group")
                // Group and dataset names are key components: UTF-8, so h5py shows them as `str`.
                try scope.check(H5Pset_char_encoding(list.id, H5T_CSET_UTF8), call: "H5Pset_char_encoding")
                return list
            }
            for (item, datasetPath) in zip(items, paths) {
                try writeDataset(item, at: datasetPath, in: file, linkCreate: linkCreate, compress: compress)
                progress?.advance(by: item.source.byteCount)
            }
            try file.flush()
        }
        // The file is closed once the last handle above is released; make it durable before
        // `AtomicOutput` renames it into place.
        try syncToDisk(path)
    }

    private static func writeDataset(_ item: Item, at path: String, in file: HDF5File, linkCreate: HDF5Object, compress: Bool) throws {
        let source = item.source
        let shape = source.shape
        let scope = file.scope(item.key)
        guard let expected = TensorShape.byteCount(shape, dtype: source.dtype) else {
            throw HDF5Error.limitExceeded(file: file.path, object: item.key, what: "elements", limit: HDF5Limits.maxElements, found: Int.max)
        }
        let (dataset, type) = try HDF5Library.withLock {
            var dims = shape.map { hsize_t($0) }
            let space = shape.isEmpty
                ? try scope.own(H5Screate(H5S_SCALAR), .dataspace, call: "H5Screate")
                : try scope.own(H5Screate_simple(Int32(dims.count), &dims, nil), .dataspace, call: "H5Screate_simple")
            let create = try scope.own(H5Pcreate(mc_h5p_dataset_create()), .propertyList, call: "H5Pcreate")
            if compress && expected > 0 && !shape.isEmpty {
                var chunk = chunkShape(shape, elementSize: source.dtype.byteSize).map { hsize_t($0) }
                try scope.check(H5Pset_chunk(create.id, Int32(chunk.count), &chunk), call: "H5Pset_chunk")
                try scope.check(H5Pset_shuffle(create.id), call: "H5Pset_shuffle")
                try scope.check(H5Pset_deflate(create.id, HDF5Limits.deflateLevel), call: "H5Pset_deflate")
            }
            let type = try HDF5StoredType.fileType(for: source.dtype, scope)
            let dataset = try scope.own(
                H5Dcreate2(file.handle.id, path, type.id, space.id, linkCreate.id, create.id, hid_t(H5P_DEFAULT)), .dataset,
                call: "H5Dcreate2")
            try dataset.setStringAttribute(HDF5Convention.Dataset.key, item.key, scope)
            try dataset.setStringAttribute(HDF5Convention.Dataset.dtype, source.dtype.rawValue, scope)
            try dataset.setIntegersAttribute(HDF5Convention.Dataset.shape, shape.map { Int64($0) }, scope)
            return (dataset, type)
        }
        try source.withBytes { bytes in
            guard bytes.count == expected else {
                throw HDF5Error.sourceSizeMismatch(file: file.path, key: item.key, expectedBytes: expected, foundBytes: bytes.count)
            }
            guard expected > 0 else { return }
            try HDF5Library.withLock {
                // Memory and file types are the same little-endian type: HDF5 copies bits as they are.
                try scope.check(
                    H5Dwrite(dataset.id, type.id, mc_h5s_all(), mc_h5s_all(), hid_t(H5P_DEFAULT), bytes.baseAddress), call: "H5Dwrite")
            }
        }
    }

    /// Chunk dimensions covering whole trailing rows up to about `HDF5Limits.chunkBytes`
    /// (formats.md §4.3), so one expert of a stacked `[E, F, D]` tensor spans few chunks and
    /// reading it decompresses little else.
    static func chunkShape(_ shape: [Int], elementSize: Int) -> [Int] {
        var chunk = [Int](repeating: 1, count: shape.count)
        var bytes = elementSize
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            let fit = max(1, HDF5Limits.chunkBytes / bytes)
            if shape[axis] <= fit {
                chunk[axis] = shape[axis]
                bytes *= shape[axis]
            } else {
                chunk[axis] = fit
                break
            }
        }
        return chunk
    }

    /// `fsync` of the finished file, as `OutputFile.close` does for the other writers.
    private static func syncToDisk(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError.errno(path: path, call: "open") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw FileError.errno(path: path, call: "fsync") }
    }
}
