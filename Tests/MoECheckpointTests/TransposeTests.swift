import Testing

@testable import MoECheckpoint

/// The tiled 2-byte transpose against the plain definition, on shapes whose edges do not fill
/// a 4×4 tile or a 64×64 block, with strides wider than the matrix.
@Suite("transpose")
struct TransposeTests {
    @Test("2-byte transpose equals the definition", arguments: [(1, 1), (3, 5), (4, 4), (7, 9), (64, 64), (67, 130), (130, 67), (5, 200)])
    func halves(_ shape: (Int, Int)) {
        let (rows, cols) = shape
        let (sourceStride, targetStride) = (cols + 3, rows + 1)
        var generator = SeededGenerator(seed: UInt64(rows * 1000 + cols))
        let source = (0..<rows * sourceStride).map { _ in UInt16.random(in: .min ... .max, using: &generator) }
        var target = [UInt16](repeating: 0xAAAA, count: cols * targetStride)
        source.withUnsafeBytes { from in
            target.withUnsafeMutableBytes { to in
                Transpose.run(from: from.baseAddress!, rows: rows, cols: cols, sourceStride: sourceStride, to: to.baseAddress!, targetStride: targetStride, elementSize: 2)
            }
        }
        for c in 0..<cols {
            for r in 0..<targetStride {
                let expected = r < rows ? source[r * sourceStride + c] : 0xAAAA
                #expect(target[c * targetStride + r] == expected, "[\(c), \(r)]")
            }
        }
    }
}
