/// The byte-level meaning of a `MappingRule`, in both directions.
///
/// Everything moves whole elements as bytes, so no value is ever rounded: a conversion that
/// changes only the layout is bit-exact whatever the dtype. Both directions write straight into
/// the destination (no intermediate joined matrix), with cache-blocked transposes.
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

    /// Row `r` of part `part` sits at this row of the joined matrix.
    @inline(__always)
    static func joinedRow(_ rule: MappingRule, part: Int, row: Int, partRows: Int) -> Int {
        rule.join == .interleaveRows ? 2 * row + part : part * partRows + row
    }

    /// Reads canonical `role` (`[rows/parts, cols]`) of one unit out of the unit's native bytes.
    static func extract(_ rule: MappingRule, role: TensorRole, unit: UnsafeRawBufferPointer, dims: [Dim: Int], elementSize: Int) -> [UInt8] {
        let (rows, cols) = joinedMatrix(rule, dims: dims)
        let part = rule.parts.firstIndex(of: role) ?? 0
        let partRows = rows / rule.parts.count
        var result = [UInt8](repeating: 0, count: partRows * cols * elementSize)
        result.withUnsafeMutableBytes { out in
            if rule.transposed {
                // Stored [cols, rows]: part rows are columns of the stored matrix.
                if rule.join == .interleaveRows {
                    for r in 0..<partRows {
                        copyColumn(unit, storedCols: rows, column: joinedRow(rule, part: part, row: r, partRows: partRows), count: cols,
                                   into: out, offset: r * cols, elementSize: elementSize)
                    }
                } else {
                    Transpose.run(
                        from: unit.baseAddress!.advanced(by: part * partRows * elementSize), rows: cols, cols: partRows, sourceStride: rows,
                        to: out.baseAddress!, targetStride: cols, elementSize: elementSize)
                }
            } else {
                let rowBytes = cols * elementSize
                for r in 0..<partRows {
                    let from = joinedRow(rule, part: part, row: r, partRows: partRows)
                    out.baseAddress!.advanced(by: r * rowBytes).copyMemory(from: unit.baseAddress!.advanced(by: from * rowBytes), byteCount: rowBytes)
                }
            }
        }
        return result
    }

    /// Writes one unit's native bytes into `target` from its canonical parts (each `[rows/parts, cols]`).
    static func assemble(_ rule: MappingRule, parts: [UnsafeRawBufferPointer], dims: [Dim: Int], elementSize: Int, into target: UnsafeMutableRawBufferPointer) {
        let (rows, cols) = joinedMatrix(rule, dims: dims)
        let partRows = rows / parts.count
        for (p, part) in parts.enumerated() {
            if rule.transposed {
                if rule.join == .interleaveRows {
                    for r in 0..<partRows {
                        let column = joinedRow(rule, part: p, row: r, partRows: partRows)
                        for c in 0..<cols {
                            target.baseAddress!.advanced(by: (c * rows + column) * elementSize)
                                .copyMemory(from: part.baseAddress!.advanced(by: (r * cols + c) * elementSize), byteCount: elementSize)
                        }
                    }
                } else {
                    // Part [partRows, cols] becomes columns [p·partRows, (p+1)·partRows) of the stored [cols, rows].
                    Transpose.run(
                        from: part.baseAddress!, rows: partRows, cols: cols, sourceStride: cols,
                        to: target.baseAddress!.advanced(by: p * partRows * elementSize), targetStride: rows, elementSize: elementSize)
                }
            } else if rule.join == .interleaveRows {
                let rowBytes = cols * elementSize
                for r in 0..<partRows {
                    target.baseAddress!.advanced(by: joinedRow(rule, part: p, row: r, partRows: partRows) * rowBytes)
                        .copyMemory(from: part.baseAddress!.advanced(by: r * rowBytes), byteCount: rowBytes)
                }
            } else {
                let bytes = partRows * cols * elementSize
                target.baseAddress!.advanced(by: p * bytes).copyMemory(from: part.baseAddress!, byteCount: bytes)
            }
        }
    }

    /// Convenience for tests: assembles into a new array.
    static func assemble(_ rule: MappingRule, parts: [[UInt8]], dims: [Dim: Int], elementSize: Int) -> [UInt8] {
        let (rows, cols) = joinedMatrix(rule, dims: dims)
        var out = [UInt8](repeating: 0, count: rows * cols * elementSize)
        func withAll(_ index: Int, _ pointers: [UnsafeRawBufferPointer], _ body: ([UnsafeRawBufferPointer]) -> Void) {
            if index == parts.count { return body(pointers) }
            parts[index].withUnsafeBytes { withAll(index + 1, pointers + [$0], body) }
        }
        withAll(0, []) { pointers in out.withUnsafeMutableBytes { assemble(rule, parts: pointers, dims: dims, elementSize: elementSize, into: $0) } }
        return out
    }

    private static func copyColumn(
        _ source: UnsafeRawBufferPointer, storedCols: Int, column: Int, count: Int, into out: UnsafeMutableRawBufferPointer, offset: Int, elementSize: Int
    ) {
        for c in 0..<count {
            out.baseAddress!.advanced(by: (offset + c) * elementSize)
                .copyMemory(from: source.baseAddress!.advanced(by: (c * storedCols + column) * elementSize), byteCount: elementSize)
        }
    }
}

/// Cache-blocked strided transposes of 1-, 2-, 4- and 8-byte elements.
enum Transpose {
    /// Writes the transpose of the `[rows, cols]` matrix at `from` (row stride `sourceStride`
    /// elements) to `to` as `[cols, rows]` (row stride `targetStride` elements).
    static func run(
        from: UnsafeRawPointer, rows: Int, cols: Int, sourceStride: Int, to: UnsafeMutableRawPointer, targetStride: Int, elementSize: Int
    ) {
        switch elementSize {
        case 2: halves(from, rows, cols, sourceStride, to, targetStride)
        case 4: typed(from, rows, cols, sourceStride, to, targetStride, UInt32.self)
        case 1: typed(from, rows, cols, sourceStride, to, targetStride, UInt8.self)
        case 8: typed(from, rows, cols, sourceStride, to, targetStride, UInt64.self)
        default: preconditionFailure("unsupported element size \(elementSize)")
        }
    }

    @inline(__always)
    private static func typed<T: FixedWidthInteger>(
        _ from: UnsafeRawPointer, _ rows: Int, _ cols: Int, _ sourceStride: Int, _ to: UnsafeMutableRawPointer, _ targetStride: Int, _: T.Type
    ) {
        let size = MemoryLayout<T>.size
        blocks(rows, cols) { rowRange, colRange in
            for r in rowRange {
                let sourceRow = from + r * sourceStride * size
                for c in colRange {
                    let value = sourceRow.loadUnaligned(fromByteOffset: c * size, as: T.self)
                    (to + (c * targetStride + r) * size).storeBytes(of: value, as: T.self)
                }
            }
        }
    }

    /// Calls `body` with each 64×64 block (rows, columns) of a `[rows, cols]` matrix, so a
    /// transpose touches a cache-sized piece of source and target at a time.
    @inline(__always)
    private static func blocks(_ rows: Int, _ cols: Int, _ body: (Range<Int>, Range<Int>) -> Void) {
        let block = 64
        var r0 = 0
        while r0 < rows {
            let r1 = min(r0 + block, rows)
            var c0 = 0
            while c0 < cols {
                let c1 = min(c0 + block, cols)
                body(r0..<r1, c0..<c1)
                c0 = c1
            }
            r0 = r1
        }
    }

    /// 2-byte elements (bf16, f16), the common case: 4×4 tiles moved as four 8-byte loads and
    /// stores with the shuffle done in registers, inside the same 64×64 cache blocks; edges
    /// that do not fill a tile go element by element.
    private static func halves(_ from: UnsafeRawPointer, _ rows: Int, _ cols: Int, _ sourceStride: Int, _ to: UnsafeMutableRawPointer, _ targetStride: Int) {
        @inline(__always) func one(_ r: Int, _ c: Int) {
            (to + (c * targetStride + r) * 2).storeBytes(of: from.loadUnaligned(fromByteOffset: (r * sourceStride + c) * 2, as: UInt16.self), as: UInt16.self)
        }
        blocks(rows, cols) { rowRange, colRange in
            let fullCols = colRange.lowerBound + colRange.count / 4 * 4
            var r = rowRange.lowerBound
            while r + 4 <= rowRange.upperBound {
                var c = colRange.lowerBound
                while c < fullCols {
                    tile(from + (r * sourceStride + c) * 2, sourceStride * 2, to + (c * targetStride + r) * 2, targetStride * 2)
                    c += 4
                }
                for rr in r..<r + 4 { for cc in fullCols..<colRange.upperBound { one(rr, cc) } }
                r += 4
            }
            for rr in r..<rowRange.upperBound { for cc in colRange { one(rr, cc) } }
        }
    }

    /// Transposes the 4×4 tile of 16-bit elements at `source` into `target`.
    @inline(__always)
    private static func tile(_ source: UnsafeRawPointer, _ sourceRow: Int, _ target: UnsafeMutableRawPointer, _ targetRow: Int) {
        let a = source.loadUnaligned(as: UInt64.self)
        let b = source.loadUnaligned(fromByteOffset: sourceRow, as: UInt64.self)
        let c = source.loadUnaligned(fromByteOffset: 2 * sourceRow, as: UInt64.self)
        let d = source.loadUnaligned(fromByteOffset: 3 * sourceRow, as: UInt64.self)
        let low16: UInt64 = 0x0000_FFFF_0000_FFFF, low32: UInt64 = 0x0000_0000_FFFF_FFFF
        let ab0 = (a & low16) | ((b & low16) << 16)  // a0 b0 a2 b2
        let ab1 = ((a >> 16) & low16) | (b & ~low16)  // a1 b1 a3 b3
        let cd0 = (c & low16) | ((d & low16) << 16)
        let cd1 = ((c >> 16) & low16) | (d & ~low16)
        target.storeBytes(of: (ab0 & low32) | (cd0 << 32), as: UInt64.self)  // a0 b0 c0 d0
        target.storeBytes(of: (ab1 & low32) | (cd1 << 32), toByteOffset: targetRow, as: UInt64.self)
        target.storeBytes(of: (ab0 >> 32) | (cd0 & ~low32), toByteOffset: 2 * targetRow, as: UInt64.self)
        target.storeBytes(of: (ab1 >> 32) | (cd1 & ~low32), toByteOffset: 3 * targetRow, as: UInt64.self)
    }
}
