/// One canonical tensor (say, expert 5's gate projection of layer 3), read lazily out of the
/// native tensor that holds it, through that tensor's table row. Only the unit's bytes are
/// touched: one expert of a stacked tensor, one layer of a layer-stacked one.
public struct CanonicalTensor: TensorSource {
    public let native: TensorEntry
    public let rule: MappingRule
    public let role: TensorRole
    /// Index on the stacked layer axis (0 when layers are per key).
    public let layerSlot: Int
    /// Index on the stacked expert axis (`nil` when experts are per key or absent).
    public let stackedExpert: Int?
    let dims: [Dim: Int]

    public var dtype: DType { native.dtype }
    public var shape: [Int] { role.canonicalShape.map { $0.evaluate(dims) ?? 0 } }

    init(native: TensorEntry, rule: MappingRule, role: TensorRole, layerSlot: Int, stackedExpert: Int?, dims: [Dim: Int]) {
        self.native = native
        self.rule = rule
        self.role = role
        self.layerSlot = layerSlot
        self.stackedExpert = stackedExpert
        self.dims = dims
    }

    var unitRange: Range<Int> {
        RuleTransform.unitRange(rule, dims: dims, layerSlot: layerSlot, expert: stackedExpert, elementSize: dtype.byteSize)
    }

    public func evict(_ range: Range<Int>) {
        native.source.evict(unitRange)
    }

    public func prefetch(_ range: Range<Int>) {
        native.source.prefetch(unitRange)
    }

    public func write(to output: OutputFile) throws {
        defer { evict() }
        if rule.parts.count == 1 && !rule.transposed {
            return try native.source.withBytes(in: unitRange) { try output.write($0) }
        }
        try withBytes { try output.write($0) }
    }

    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let size = dtype.byteSize
        let range = unitRange
        if rule.parts.count == 1 && !rule.transposed {
            // Direct rows: hand out the native bytes without a copy.
            return try native.source.withBytes(in: range, body)
        }
        let bytes = try native.source.withBytes(in: range) { unit in
            RuleTransform.extract(rule, role: role, unit: unit, dims: dims, elementSize: size)
        }
        return try bytes.withUnsafeBytes(body)
    }
}
