/// A native tensor of the target layout, built on demand from canonical tensors through its
/// table row (the write direction of `MappingRule`).
///
/// `units` lists, in storage order (layer-major, then expert), the canonical parts of each unit.
/// The bytes exist only while a writer holds them, so memory stays bounded by the largest tensor.
public struct AssembledTensor: TensorSource {
    public let rule: MappingRule
    public let units: [[any TensorSource]]
    public let dtype: DType
    public let shape: [Int]
    let dims: [Dim: Int]

    init(rule: MappingRule, units: [[any TensorSource]], dims: [Dim: Int]) throws {
        self.rule = rule
        self.units = units
        self.dims = dims
        let dtypes = Set(units.flatMap { $0.map(\.dtype) })
        guard dtypes.count == 1, let dtype = dtypes.first else {
            throw ConvertError.mixedDTypes(key: rule.pattern.template, dtypes: dtypes.map(\.rawValue).sorted())
        }
        self.dtype = dtype
        shape = rule.shape.map { $0.evaluate(dims) ?? 0 }
    }

    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        if units.count == 1, units[0].count == 1, !rule.transposed {
            return try units[0][0].withBytes(body)
        }
        let size = dtype.byteSize
        var buffer = [UInt8]()
        buffer.reserveCapacity(byteCount)
        for parts in units {
            let bytes = try parts.map { try $0.bytes() }
            buffer += RuleTransform.assemble(rule, parts: bytes, dims: dims, elementSize: size)
        }
        return try buffer.withUnsafeBytes(body)
    }
}
