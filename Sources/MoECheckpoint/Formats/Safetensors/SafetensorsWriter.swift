/// Writes safetensors files byte-identical to the reference `safetensors` library
/// (`serialize_to_file` @ 0.7): tensors ordered by dtype alignment (descending), then name;
/// compact JSON with `__metadata__` first; header padded with spaces to a multiple of 8.
public enum SafetensorsWriter {
    /// A tensor to write.
    public typealias Item = (name: String, source: any TensorSource)

    /// The header bytes (length prefix included) and the order tensors must follow.
    public static func plan(_ items: [Item], metadata: [(key: String, value: String)] = [], file: String) throws
        -> (header: [UInt8], order: [Item])
    {
        var names = Set<String>()
        for item in items where !names.insert(item.name).inserted {
            throw SafetensorsError.duplicateTensorName(file: file, key: item.name)
        }
        let order = items.sorted { lhs, rhs in
            let (l, r) = (lhs.source.dtype.safetensorsOrder, rhs.source.dtype.safetensorsOrder)
            if l != r { return l > r }
            // Rust compares `String`s bytewise; Swift's `<` is Unicode-aware, so compare UTF-8.
            return lhs.name.utf8.lexicographicallyPrecedes(rhs.name.utf8)
        }
        var header = JSONObject()
        if !metadata.isEmpty {
            let sorted = metadata.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            header["__metadata__"] = .object(JSONObject(sorted.map { ($0.key, JSONValue.string($0.value)) }))
        }
        var offset = 0
        for item in order {
            guard let bytes = TensorShape.byteCount(item.source.shape, dtype: item.source.dtype) else {
                throw SafetensorsError.validationOverflow(file: file, key: item.name, shape: item.source.shape)
            }
            header[item.name] = .object(JSONObject([
                ("dtype", .string(item.source.dtype.safetensorsName)),
                ("shape", .array(item.source.shape.map(JSONValue.int))),
                ("data_offsets", .array([.int(offset), .int(offset + bytes)])),
            ]))
            offset += bytes
        }
        var json = Array(JSONWriter.compact(.object(header)).utf8)
        json += [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8)
        let prefix = withUnsafeBytes(of: UInt64(json.count).littleEndian) { Array($0) }
        return (prefix + json, order)
    }

    /// How far ahead of the tensor being written the source is requested from the disk.
    static let prefetchBytes = 64 << 20

    /// Writes `items` to a new file at `path`, streaming one tensor at a time.
    public static func write(_ items: [Item], metadata: [(key: String, value: String)] = [], to path: String) throws {
        try write(items, metadata: metadata, into: try OutputFile(creating: path))
    }

    /// Writes `items` into `output` (a fresh file, or a counting one that only sizes it) and closes it.
    public static func write(_ items: [Item], metadata: [(key: String, value: String)] = [], into output: OutputFile) throws {
        let path = output.path
        let (header, order) = try plan(items, metadata: metadata, file: path)
        try output.write(header)
        // Keep the disk reading the next tensors while this one is transformed and written:
        // `order[index..<prefetched]` (`window` bytes) has been requested.
        var (prefetched, window) = (0, 0)
        for (index, item) in order.enumerated() {
            while !output.isCounting, prefetched < order.count, window < Self.prefetchBytes {
                order[prefetched].source.prefetch()
                window += order[prefetched].source.byteCount
                prefetched += 1
            }
            window -= prefetched > index ? item.source.byteCount : 0
            let start = output.position
            try output.write(item.source)
            let written = output.position - start
            guard written == item.source.byteCount else {
                throw SafetensorsError.sourceSizeMismatch(file: path, key: item.name, expectedBytes: item.source.byteCount, foundBytes: written)
            }
        }
        try output.close()
    }
}
