/// A memory-mapped safetensors file: opening it parses the header and reads nothing else.
public final class SafetensorsFile: @unchecked Sendable {
    /// The path, as used in messages.
    public var path: String { mapped.path }
    /// The validated header.
    public let header: SafetensorsHeader
    private let mapped: MappedFile

    /// Maps and validates `path`.
    public init(path: String) throws {
        mapped = try MappedFile(path: path)
        let size = mapped.size
        header = try mapped.withAllBytes { try SafetensorsHeader(parsing: $0, fileSize: size, file: path) }
    }

    /// A lazy view of one tensor.
    public func tensor(_ info: SafetensorsTensorInfo) -> MappedTensor {
        let start = header.dataStart + info.dataRange.lowerBound
        return MappedTensor(file: mapped, byteRange: start..<start + info.dataRange.count, dtype: info.dtype, shape: info.shape)
    }

    /// A lazy view of the tensor named `name`, or `nil`.
    public func tensor(named name: String) -> MappedTensor? {
        header.tensors.first(where: { $0.name == name }).map(tensor)
    }

    /// All tensors as state-dict entries, in data order.
    public func entries() -> [TensorEntry] {
        header.tensors.map { TensorEntry(key: $0.name, source: tensor($0), file: path) }
    }
}
