/// Where a chunk's elements sit in the row-major global tensor.
///
/// A chunk is a hyper-rectangle; in global memory it is a set of equally long contiguous runs.
/// The run spans the trailing axes the chunk covers fully plus the first partial axis before
/// them, so a Megatron per-expert gate chunk `[1, 1, F, D]` of `[L, E, 2F, D]` is one run and
/// an OLMo row block is one run.
struct DCPChunkGeometry {
    let chunk: DCPChunk
    let elementSize: Int
    /// Global row-major strides, in elements.
    let globalStrides: [Int]
    /// The axis the runs start at (axes after it are covered fully).
    let runAxis: Int
    /// Bytes per run.
    let runBytes: Int
    /// Number of runs.
    let runCount: Int

    init(chunk: DCPChunk, globalShape: [Int], elementSize: Int) {
        self.chunk = chunk
        self.elementSize = elementSize
        globalStrides = TensorShape.contiguousStrides(globalShape)
        var axis = globalShape.count - 1
        while axis > 0 && chunk.sizes[axis] == globalShape[axis] { axis -= 1 }
        runAxis = max(axis, 0)
        let runElements = globalShape.isEmpty ? 1 : chunk.sizes[runAxis...].reduce(1, *)
        runBytes = runElements * elementSize
        runCount = globalShape.isEmpty ? 1 : chunk.sizes[..<runAxis].reduce(1, *)
    }

    /// Byte offset in the global tensor of the chunk's first element.
    var firstByte: Int { zip(chunk.offsets, globalStrides).reduce(0) { $0 + $1.0 * $1.1 } * elementSize }

    /// One past the chunk's last byte in the global tensor (its bounding range ends there).
    var endByte: Int {
        guard chunk.elementCount > 0 else { return firstByte }
        let last = zip(zip(chunk.offsets, chunk.sizes), globalStrides).reduce(0) { $0 + ($1.0.0 + $1.0.1 - 1) * $1.1 }
        return (last + 1) * elementSize
    }

    /// Whether the chunk is one run, so its bytes are a contiguous range of the global tensor.
    var isContiguous: Bool { runCount == 1 }

    /// Calls `visit(globalByteOffset, chunkByteOffset)` for each run, in chunk order.
    func forEachRun(_ visit: (Int, Int) throws -> Void) rethrows {
        guard chunk.elementCount > 0 else { return }
        let outer = Array(chunk.sizes[..<runAxis])
        var index = [Int](repeating: 0, count: outer.count)
        let base = firstByte
        for run in 0..<runCount {
            var offset = 0
            for (axis, i) in index.enumerated() { offset += i * globalStrides[axis] }
            try visit(base + offset * elementSize, run * runBytes)
            // Advance the odometer over the outer axes.
            var axis = outer.count - 1
            while axis >= 0 {
                index[axis] += 1
                if index[axis] < outer[axis] { break }
                index[axis] = 0
                axis -= 1
            }
        }
    }
}
