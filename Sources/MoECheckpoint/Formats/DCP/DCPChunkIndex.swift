/// A tensor's chunks sorted by where they start in the global tensor, so that finding the chunks
/// a byte range meets costs two binary searches, not a pass over every chunk: reading each of
/// the `E · L` experts of a large layer-stacked tensor stays linear overall.
final class DCPChunkIndex: Sendable {
    let geometries: [DCPChunkGeometry]
    /// The longest bounding range of any chunk (chunks that start further back cannot reach a range).
    let maxExtent: Int

    init(_ info: DCPTensorInfo) {
        geometries = info.chunks.map { DCPChunkGeometry(chunk: $0, globalShape: info.size, elementSize: info.dtype.byteSize) }
            .sorted { $0.firstByte < $1.firstByte }
        maxExtent = geometries.map { $0.endByte - $0.firstByte }.max() ?? 0
    }

    /// The chunks whose bytes may fall in `range`, in order.
    func meeting(_ range: Range<Int>) -> [DCPChunkGeometry] {
        let start = firstIndex { $0.firstByte >= range.lowerBound - maxExtent }
        let end = firstIndex { $0.firstByte >= range.upperBound }
        guard start < end else { return [] }
        return geometries[start..<end].filter { $0.firstByte < range.upperBound && range.lowerBound < $0.endByte }
    }

    /// The first index whose geometry satisfies a predicate that is monotone over the order.
    private func firstIndex(_ predicate: (DCPChunkGeometry) -> Bool) -> Int {
        var low = 0
        var high = geometries.count
        while low < high {
            let mid = (low + high) / 2
            if predicate(geometries[mid]) { high = mid } else { low = mid + 1 }
        }
        return low
    }
}
