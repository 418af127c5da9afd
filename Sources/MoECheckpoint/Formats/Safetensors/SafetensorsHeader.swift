/// One tensor's entry in a safetensors header.
public struct SafetensorsTensorInfo: Equatable, Sendable {
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    /// Byte range relative to the start of the data buffer.
    public let dataRange: Range<Int>
}

/// A validated safetensors header: the only way to get one is through the checks of the
/// reference implementation (`Metadata::validate`), which reader and writer share.
public struct SafetensorsHeader: Equatable, Sendable {
    /// Tensors in data order (sorted by offset).
    public let tensors: [SafetensorsTensorInfo]
    /// `__metadata__`, in file order.
    public let metadata: [(key: String, value: String)]
    /// Length of the JSON header in bytes (the u64 prefix).
    public let headerLength: Int
    /// Where the data buffer starts in the file (8 + header length).
    public var dataStart: Int { 8 + headerLength }
    /// Bytes of tensor data.
    public var dataLength: Int { tensors.last?.dataRange.upperBound ?? 0 }

    public static func == (lhs: SafetensorsHeader, rhs: SafetensorsHeader) -> Bool {
        lhs.tensors == rhs.tensors && lhs.headerLength == rhs.headerLength
            && lhs.metadata.map(\.key) == rhs.metadata.map(\.key) && lhs.metadata.map(\.value) == rhs.metadata.map(\.value)
    }

    /// Parses and validates the header at the start of `bytes` (the whole file, or at least its
    /// header when `fileSize` is given separately).
    public init(parsing bytes: UnsafeRawBufferPointer, fileSize: Int, file: String) throws {
        guard fileSize >= 8, bytes.count >= 8 else { throw SafetensorsError.headerTooSmall(file: file, size: fileSize) }
        var reader = ByteReader(bytes)
        let declared = try reader.readLE(UInt64.self)
        guard declared <= UInt64(SafetensorsLimits.maxHeaderBytes) else {
            throw SafetensorsError.headerTooLarge(file: file, length: declared, limit: SafetensorsLimits.maxHeaderBytes)
        }
        let length = Int(declared)
        guard 8 + length <= fileSize, 8 + length <= bytes.count else {
            throw SafetensorsError.invalidHeaderLength(file: file, length: declared, fileSize: fileSize)
        }
        let json = try reader.slice(length)
        guard json.first == UInt8(ascii: "{") else {
            let found = json.first.map { "byte 0x" + String($0, radix: 16) } ?? "an empty header"
            throw SafetensorsError.invalidHeaderStart(file: file, found: found)
        }
        let value: JSONValue
        do {
            value = try JSONParser(maxDepth: SafetensorsLimits.maxJSONDepth).parse(json)
        } catch let failure as JSONParser.Failure {
            throw SafetensorsError.invalidHeaderJSON(file: file, reason: failure.description)
        }
        guard let object = value.objectValue else {
            throw SafetensorsError.invalidHeaderJSON(file: file, reason: "the header is not a JSON object")
        }
        var metadata: [(key: String, value: String)] = []
        var raw: [(name: String, dtype: DType, shape: [Int], begin: UInt64, end: UInt64)] = []
        for (key, entry) in object {
            if key == "__metadata__" {
                guard let fields = entry.objectValue else {
                    throw SafetensorsError.invalidMetadata(file: file, reason: "it is not an object")
                }
                for (name, value) in fields {
                    guard let text = value.stringValue else {
                        throw SafetensorsError.invalidMetadata(file: file, reason: "value of '\(name)' is not a string")
                    }
                    metadata.append((name, text))
                }
                continue
            }
            guard !key.isEmpty else { throw SafetensorsError.emptyTensorName(file: file) }
            raw.append(try Self.decodeEntry(entry, key: key, file: file))
        }
        raw.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var tensors: [SafetensorsTensorInfo] = []
        tensors.reserveCapacity(raw.count)
        var expectedStart: UInt64 = 0
        for entry in raw {
            guard entry.begin == expectedStart, entry.end >= entry.begin else {
                throw SafetensorsError.invalidOffset(file: file, key: entry.name, expectedStart: Int(expectedStart), found: [entry.begin, entry.end])
            }
            guard let needed = TensorShape.byteCount(entry.shape, dtype: entry.dtype) else {
                throw SafetensorsError.validationOverflow(file: file, key: entry.name, shape: entry.shape)
            }
            let found = entry.end - entry.begin
            guard found == UInt64(needed) else {
                throw SafetensorsError.sizeMismatch(
                    file: file, key: entry.name, dtype: entry.dtype, shape: entry.shape,
                    expectedBytes: needed, foundBytes: found > UInt64(Int.max) ? Int.max : Int(found))
            }
            tensors.append(SafetensorsTensorInfo(name: entry.name, dtype: entry.dtype, shape: entry.shape, dataRange: Int(entry.begin)..<Int(entry.end)))
            expectedStart = entry.end
        }
        let expectedSize = 8 + length + Int(expectedStart)
        guard expectedSize == fileSize else {
            throw SafetensorsError.incompleteBuffer(file: file, expectedSize: expectedSize, foundSize: fileSize)
        }
        self.tensors = tensors
        self.metadata = metadata
        self.headerLength = length
    }

    private static func decodeEntry(_ entry: JSONValue, key: String, file: String) throws
        -> (name: String, dtype: DType, shape: [Int], begin: UInt64, end: UInt64)
    {
        guard let fields = entry.objectValue else {
            throw SafetensorsError.invalidTensorInfo(file: file, key: key, reason: "entry is not an object")
        }
        for name in fields.keys where !["dtype", "shape", "data_offsets"].contains(name) {
            throw SafetensorsError.invalidTensorInfo(file: file, key: key, reason: "unknown field '\(name)'")
        }
        guard let dtypeName = fields["dtype"]?.stringValue else {
            throw SafetensorsError.invalidTensorInfo(file: file, key: key, reason: "missing or non-string 'dtype'")
        }
        guard let dtype = DType(safetensorsName: dtypeName) else {
            throw SafetensorsError.unknownDType(file: file, key: key, dtype: dtypeName)
        }
        guard let dims = fields["shape"]?.arrayValue else {
            throw SafetensorsError.invalidTensorInfo(file: file, key: key, reason: "missing or non-array 'shape'")
        }
        guard dims.count <= TensorShape.maxRank else {
            throw SafetensorsError.invalidTensorInfo(file: file, key: key, reason: "shape has \(dims.count) dimensions, more than \(TensorShape.maxRank)")
        }
        var shape: [Int] = []
        for dim in dims {
            guard let value = dim.uint64Value, value <= UInt64(Int.max) else {
                throw SafetensorsError.invalidTensorInfo(file: file, key: key, reason: "shape entries must be non-negative integers")
            }
            shape.append(Int(value))
        }
        guard let offsets = fields["data_offsets"]?.arrayValue, offsets.count == 2,
            let begin = offsets[0].uint64Value, let end = offsets[1].uint64Value
        else {
            throw SafetensorsError.invalidTensorInfo(file: file, key: key, reason: "'data_offsets' must be two non-negative integers")
        }
        return (key, dtype, shape, begin, end)
    }
}
