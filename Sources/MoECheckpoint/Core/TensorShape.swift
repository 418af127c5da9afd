/// Shape arithmetic with overflow checks: every size that comes from a file goes through here.
public enum TensorShape {
    /// The most dimensions any reader accepts (safetensors and torch both stay far below).
    public static let maxRank = 64

    /// Product of the dimensions, or `nil` when a dimension is negative or the product overflows.
    public static func elementCount(_ shape: [Int]) -> Int? {
        var count = 1
        for dim in shape {
            guard dim >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            if overflow { return nil }
            count = product
        }
        return count
    }

    /// Bytes of a dense tensor, or `nil` on overflow.
    public static func byteCount(_ shape: [Int], dtype: DType) -> Int? {
        guard let count = elementCount(shape) else { return nil }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
        return overflow ? nil : bytes
    }

    /// Row-major (C-contiguous) strides in elements.
    public static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[axis] = running
            running &*= max(shape[axis], 1)
        }
        return strides
    }

    /// Whether `strides` describe a row-major layout; dimensions of size 1 may carry any stride
    /// (torch DCP blobs store `(1,1,64,32)` with stride `(2048,2048,32,1)`).
    public static func isContiguous(shape: [Int], strides: [Int]) -> Bool {
        guard shape.count == strides.count else { return false }
        var expected = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) where shape[axis] != 1 {
            if shape[axis] == 0 { return true }
            if strides[axis] != expected { return false }
            expected &*= shape[axis]
        }
        return true
    }

    /// Human form used in messages: `[8, 32]`.
    public static func describe(_ shape: [Int]) -> String {
        "[" + shape.map(String.init).joined(separator: ", ") + "]"
    }
}
