/// The chunk rules of `formats.md` §2.4 / §6.4, the same ones torch's `_validate_global_plan`
/// applies when saving: every chunk has the tensor's rank and lies inside the global shape, no
/// two chunks overlap, and together they cover every element. The reader checks each tensor of
/// `.metadata` with it, and the writer checks its own plan, so both sides agree.
struct DCPChunkValidator {
    let file: String
    let key: String

    func validate(_ info: DCPTensorInfo) throws {
        let global = info.size
        var covered = 0
        for chunk in info.chunks {
            guard chunk.offsets.count == global.count, chunk.sizes.count == global.count,
                zip(zip(chunk.offsets, chunk.sizes), global).allSatisfy({ pair, size in
                    let (offset, extent) = pair
                    return offset >= 0 && extent >= 0 && offset <= size && extent <= size - offset
                })
            else {
                throw DCPError.chunkOutOfBounds(file: file, key: key, offsets: chunk.offsets, sizes: chunk.sizes, globalShape: global)
            }
            // Inside the global shape, so the volume cannot overflow.
            covered += chunk.elementCount
        }
        try checkOverlaps(info.chunks)
        let expected = TensorShape.elementCount(global) ?? 0
        guard covered == expected else {
            // Without overlaps, fewer covered elements than the tensor has means holes.
            throw DCPError.chunksLeaveHoles(file: file, key: key, expectedElements: expected, coveredElements: covered)
        }
    }

    /// Sweeps the chunks in order of their first offset and compares only those whose first-axis
    /// intervals meet: per-expert chunks of a layer-stacked tensor are compared within a layer.
    func checkOverlaps(_ chunks: [DCPChunk]) throws {
        let nonEmpty = chunks.filter { $0.elementCount > 0 }
        guard nonEmpty.count > 1, let rank = nonEmpty.first?.offsets.count, rank > 0 else {
            if nonEmpty.count > 1 {
                throw DCPError.chunksOverlap(file: file, key: key, first: nonEmpty[0].offsets, second: nonEmpty[1].offsets)
            }
            return
        }
        // Sweep on the axis with the most distinct offsets, so the active window stays small.
        let axis = (0..<rank).max { a, b in Set(nonEmpty.map { $0.offsets[a] }).count < Set(nonEmpty.map { $0.offsets[b] }).count } ?? 0
        let sorted = nonEmpty.sorted { $0.offsets[axis] < $1.offsets[axis] }
        for i in sorted.indices {
            let a = sorted[i]
            let end = a.offsets[axis] + a.sizes[axis]
            var j = i + 1
            while j < sorted.count, sorted[j].offsets[axis] < end {
                let b = sorted[j]
                let meets = (0..<rank).allSatisfy { d in
                    a.offsets[d] < b.offsets[d] + b.sizes[d] && b.offsets[d] < a.offsets[d] + a.sizes[d]
                }
                if meets { throw DCPError.chunksOverlap(file: file, key: key, first: a.offsets, second: b.offsets) }
                j += 1
            }
        }
    }
}
