import CSystemShims

/// The forward's one matrix product, `C = A · Bᵀ`, through OpenBLAS `cblas_sgemm`, loaded on
/// first use (`CSystemShims/blas.c`: a linked OpenBLAS spins up threads in every command).
///
/// Every product of an MoE layer has this form because weights follow `nn.Linear` (out × in):
/// router logits `X·W_rᵀ`, gate/up `X·W_gᵀ`, down `A·W_dᵀ`. OpenBLAS runs a 2048×1408×64
/// product at about 60 GFLOP/s here, 3–10× a SIMD loop at the baseline x86-64 target
/// (`swift-platform.md` §6).
enum Matmul {
    /// `c[m, n] = a[m, k] · b[n, k]ᵀ`, all row-major float32; `c` is overwritten. `c`'s rows
    /// are `rowStride` apart (default `n`), so a block of `b`'s rows fills a block of columns.
    static func multiplyTransposed(
        _ a: UnsafePointer<Float>, rows m: Int, _ b: UnsafePointer<Float>, rows n: Int, inner k: Int,
        into c: UnsafeMutablePointer<Float>, rowStride: Int? = nil
    ) {
        guard m > 0, n > 0 else { return }
        let ldc = rowStride ?? n
        if k == 0 {
            for row in 0..<m { (c + row * ldc).update(repeating: 0, count: n) }
            return
        }
        csys_sgemm_nt(Int32(m), Int32(n), Int32(k), a, b, c, Int32(ldc))
    }

    /// Loads OpenBLAS, single-threaded: the forward's products are small (a few token rows
    /// against one weight block) and the experts already run on parallel workers, so OpenBLAS's
    /// own threads would only spin. Throws when the library is missing; forwards call this
    /// before their first product.
    static func requireBLAS() throws {
        if let reason = csys_blas_load_error() { throw ForwardError.blasUnavailable(reason: String(cString: reason)) }
    }

    /// Array form of `multiplyTransposed`, for small products (router logits, tests).
    static func multiplyTransposed(_ a: [Float], rows m: Int, _ b: [Float], rows n: Int, inner k: Int) -> [Float] {
        precondition(a.count == m * k && b.count == n * k, "operands match their shapes")
        var c = [Float](repeating: 0, count: m * n)
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    guard let pa = pa.baseAddress, let pb = pb.baseAddress, let pc = pc.baseAddress else { return }
                    multiplyTransposed(pa, rows: m, pb, rows: n, inner: k, into: pc)
                }
            }
        }
        return c
    }
}
