/// The byte-level meaning of a `MappingRule`, in both directions.
///
/// Everything moves whole elements as bytes, so no value is ever rounded: a conversion that
/// changes only the layout is bit-exact whatever the dtype.
public enum RuleTransform {
    /// Rows and columns of one unit as joined (before any transpose): `[2F, D]` for `[G; U]`.
    static func joinedMatrix(_ rule: MappingRule, dims: [Dim: Int]) -> (rows: Int, cols: Int) {
        var unit = rule.parts[0].canonicalShape.map { $0.evaluate(dims) ?? 0 }
        if rule.parts.count == 2 { unit[0] *= 2 }
        return (unit[0], unit.count > 1 ? unit[1] : 1)
    }

    /// Byte range of one unit (one layer, one expert) inside the native tensor.
    static func unitRange(_ rule: MappingRule, dims: [Dim: Int], layerSlot: Int, expert: Int?, elementSize: Int) -> Range<Int> {
        let (rows, cols) = joinedMatrix(rule, dims: dims)
        let unitBytes = rows * cols * elementSize
        let experts = rule.experts == .stacked ? (dims[.e] ?? 1) : 1
        var start = rule.layers == .stacked ? layerSlot * experts * unitBytes : 0
        if rule.experts == .stacked { start += (expert ?? 0) * unitBytes }
        return start..<start + unitBytes
    }

    /// Transposes a row-major `[rows, cols]` matrix of `elementSize`-byte elements.
    static func transpose(_ input: UnsafeRawBufferPointer, rows: Int, cols: Int, elementSize: Int, into output: UnsafeMutableRawBufferPointer) {
        switch elementSize {
        case 4: transposeTyped(input, rows, cols, output, UInt32.self)
        case 2: transposeTyped(input, rows, cols, output, UInt16.self)
        case 1: transposeTyped(input, rows, cols, output, UInt8.self)
        case 8: transposeTyped(input, rows, cols, output, UInt64.self)
        default: preconditionFailure("unsupported element size")
        }
    }

    private static func transposeTyped<T: FixedWidthInteger>(
        _ input: UnsafeRawBufferPointer, _ rows: Int, _ cols: Int, _ output: UnsafeMutableRawBufferPointer, _: T.Type
    ) {
        let size = MemoryLayout<T>.size
        // Blocked so both sides stay in cache for large experts.
        let block = 32
        for r0 in stride(from: 0, to: rows, by: block) {
            for c0 in stride(from: 0, to: cols, by: block) {
                for r in r0..<min(r0 + block, rows) {
                    for c in c0..<min(c0 + block, cols) {
                        let value = input.loadUnaligned(fromByteOffset: (r * cols + c) * size, as: T.self)
                        output.storeBytes(of: value, toByteOffset: (c * rows + r) * size, as: T.self)
                    }
                }
            }
        }
    }

    /// Reads canonical `role` of one unit out of the unit's native bytes.
    static func extract(
        _ rule: MappingRule, role: TensorRole, unit: UnsafeRawBufferPointer, dims: [Dim: Int], elementSize: Int
    ) -> [UInt8] {
        let (rows, cols) = joinedMatrix(rule, dims: dims)
        var joined = [UInt8](repeating: 0, count: rows * cols * elementSize)
        joined.withUnsafeMutableBytes { out in
            if rule.transposed {
                transpose(unit, rows: cols, cols: rows, elementSize: elementSize, into: out)
            } else {
                out.copyMemory(from: unit)
            }
        }
        guard rule.parts.count == 2, let part = rule.parts.firstIndex(of: role) else { return joined }
        let rowBytes = cols * elementSize
        let half = rows / 2
        var result = [UInt8](repeating: 0, count: half * rowBytes)
        joined.withUnsafeBytes { src in
            result.withUnsafeMutableBytes { dst in
                for r in 0..<half {
                    let from = rule.join == .interleaveRows ? (2 * r + part) : (part * half + r)
                    dst.baseAddress!.advanced(by: r * rowBytes).copyMemory(from: src.baseAddress!.advanced(by: from * rowBytes), byteCount: rowBytes)
                }
            }
        }
        return result
    }

    /// Builds one unit's native bytes from its canonical parts (each `[rows/parts, cols]`).
    static func assemble(_ rule: MappingRule, parts: [[UInt8]], dims: [Dim: Int], elementSize: Int) -> [UInt8] {
        let (rows, cols) = joinedMatrix(rule, dims: dims)
        let rowBytes = cols * elementSize
        var joined = [UInt8](repeating: 0, count: rows * rowBytes)
        if parts.count == 1 {
            joined = parts[0]
        } else {
            let half = rows / 2
            joined.withUnsafeMutableBytes { dst in
                for (p, part) in parts.enumerated() {
                    part.withUnsafeBytes { src in
                        for r in 0..<half {
                            let to = rule.join == .interleaveRows ? (2 * r + p) : (p * half + r)
                            dst.baseAddress!.advanced(by: to * rowBytes).copyMemory(from: src.baseAddress!.advanced(by: r * rowBytes), byteCount: rowBytes)
                        }
                    }
                }
            }
        }
        guard rule.transposed else { return joined }
        var out = [UInt8](repeating: 0, count: joined.count)
        joined.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in transpose(src, rows: rows, cols: cols, elementSize: elementSize, into: dst) }
        }
        return out
    }
}
