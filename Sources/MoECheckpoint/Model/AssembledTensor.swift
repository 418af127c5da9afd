import Foundation

/// A native tensor of the target layout, built on demand from canonical tensors through its
/// table row (the write direction of `MappingRule`).
///
/// `units` lists, in storage order (layer-major, then expert), the canonical parts of each unit.
/// The bytes exist only while a writer holds them, so memory stays bounded by the largest
/// tensor; units are assembled in parallel, straight into the one output buffer.
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

    /// A unit that is one untransposed part is the part itself: hand it through (and let a mapped
    /// source copy in the kernel).
    private var isPassThrough: Bool { units.count == 1 && units[0].count == 1 && !rule.transposed }

    /// Bytes of one unit (one expert of one layer): each is a contiguous slice of the output.
    private var unitBytes: Int { byteCount / max(units.count, 1) }

    /// Streams unit by unit as a pipeline: the source pages of the next batches are requested
    /// ahead (`MADV_WILLNEED`), a batch of units (one per core) is assembled in parallel, and a
    /// writer thread writes the previous batch meanwhile. Memory stays at a few units.
    public func write(to output: OutputFile) throws {
        if isPassThrough { return try units[0][0].write(to: output) }
        if output.isCounting { return try output.write(self) }
        let batch = max(ProcessInfo.processInfo.activeProcessorCount, 1)
        let ahead = batch * Self.prefetchBatches
        for part in units.prefix(batch + ahead).joined() { part.prefetch() }
        let pipeline = WriteBehind(output: output, slotBytes: unitBytes * batch)
        for start in stride(from: 0, to: units.count, by: batch) {
            let batchUnits = start..<min(start + batch, units.count)
            let window = min(batchUnits.upperBound + ahead, units.count)
            for part in units[min(window, batchUnits.upperBound + ahead - batch)..<window].joined() { part.prefetch() }
            try pipeline.withSlot { buffer in
                try assemble(batchUnits, into: SharedBuffer(buffer))
                return batchUnits.count * unitBytes
            }
        }
        try pipeline.finish()
    }

    /// Batches whose source pages are requested before they are assembled.
    static let prefetchBatches = 3

    /// Requests the source pages of the units that meet `range`.
    public func prefetch(_ range: Range<Int>) {
        let size = max(unitBytes, 1)
        let first = range.lowerBound / size, last = min((range.upperBound + size - 1) / size, units.count)
        guard first < last else { return }
        for part in units[first..<last].joined() { part.prefetch() }
    }

    public func evict(_ range: Range<Int>) {
        for unit in units { for part in unit { part.evict() } }
    }

    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        if isPassThrough { return try units[0][0].withBytes(body) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(byteCount, 1), alignment: 64)
        defer { buffer.deallocate() }
        try assemble(units.indices, into: SharedBuffer(buffer))
        return try body(UnsafeRawBufferPointer(rebasing: buffer[0..<byteCount]))
    }

    /// Assembles only the units that meet `range` (a cluster part's experts of a DCP tensor).
    public func withBytes<R>(in range: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        if isPassThrough { return try units[0][0].withBytes(in: range, body) }
        let size = max(unitBytes, 1)
        let first = range.lowerBound / size
        let last = min((range.upperBound + size - 1) / size, units.count)
        guard first < last else { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: (last - first) * unitBytes, alignment: 64)
        defer { buffer.deallocate() }
        try assemble(first..<last, into: SharedBuffer(buffer))
        let base = first * unitBytes
        return try body(UnsafeRawBufferPointer(rebasing: buffer[range.lowerBound - base..<range.upperBound - base]))
    }

    /// Assembles `indices` in parallel, unit `indices.lowerBound + i` into slot `i` of `target`,
    /// dropping each unit's source pages once it is done. Rethrows the first error.
    private func assemble(_ indices: Range<Int>, into target: SharedBuffer) throws {
        let (units, rule, dims, size, unitBytes) = (self.units, self.rule, self.dims, dtype.byteSize, self.unitBytes)
        let failure = FirstError()
        DispatchQueue.concurrentPerform(iterations: indices.count) { slot in
            let unit = units[indices.lowerBound + slot]
            do {
                let slice = UnsafeMutableRawBufferPointer(rebasing: target.buffer[slot * unitBytes..<(slot + 1) * unitBytes])
                try Self.withParts(unit, 0, []) { parts in
                    RuleTransform.assemble(rule, parts: parts, dims: dims, elementSize: size, into: slice)
                }
                for part in unit { part.evict() }
            } catch {
                failure.record(error)
            }
        }
        try failure.rethrow()
    }

    /// Opens every part's bytes at once (one or two parts).
    private static func withParts(_ parts: [any TensorSource], _ index: Int, _ open: [UnsafeRawBufferPointer], _ body: ([UnsafeRawBufferPointer]) throws -> Void) throws {
        if index == parts.count { return try body(open) }
        try parts[index].withBytes { try withParts(parts, index + 1, open + [$0], body) }
    }
}

/// A buffer whose disjoint slices concurrent workers fill.
struct SharedBuffer: @unchecked Sendable {
    let buffer: UnsafeMutableRawBufferPointer
    init(_ buffer: UnsafeMutableRawBufferPointer) { self.buffer = buffer }
}

/// Keeps the first error thrown by concurrent work.
final class FirstError: @unchecked Sendable {
    private let lock = NSLock()
    private var error: Error?

    func record(_ error: Error) {
        lock.lock()
        if self.error == nil { self.error = error }
        lock.unlock()
    }

    func rethrow() throws {
        lock.lock()
        defer { lock.unlock() }
        if let error { throw error }
    }
}
