/// The `hdf5` target: one HDF5 file holding the global state dict (no EP/TP split: HDF5 users
/// slice experts themselves), with the routing config and the source's metadata as attributes.
public enum HDF5CheckpointWriter: CheckpointWriter {
    /// `hdf5`.
    public static let format = ContainerFormat.hdf5
    /// Always one file.
    public static let writesSingleFile = true

    /// Writes `request`'s state dict to a new file at `path`, one dataset at a time.
    public static func write(_ request: WriteRequest, to path: String) throws {
        try HDF5Writer.write(
            request.stateDict.entries.map { (key: $0.key, source: $0.source) }, metadata: HDF5Metadata(request),
            compress: request.compress, to: path, progress: request.progress)
    }
}
