/// A global tensor of a DCP folder, assembled from its chunks on demand.
///
/// `withBytes(in:)` reads only the chunks that meet the requested range: one expert of a
/// layer-stacked Megatron tensor touches that expert's gate and up items and nothing else. When
/// one chunk holds the whole range contiguously, its mapped bytes are handed out without a copy.
public struct DCPTensor: TensorSource {
    public let folder: DCPFolder
    public let fqn: String
    public let info: DCPTensorInfo
    let index: DCPChunkIndex

    init(folder: DCPFolder, fqn: String, info: DCPTensorInfo) {
        self.folder = folder
        self.fqn = fqn
        self.info = info
        index = DCPChunkIndex(info)
    }

    public var dtype: DType { info.dtype }
    public var shape: [Int] { info.size }

    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try withBytes(in: 0..<byteCount, body)
    }

    public func withBytes<R>(in range: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        precondition(range.lowerBound >= 0 && range.upperBound <= byteCount, "range inside the tensor")
        let meeting = index.meeting(range)
        if meeting.count == 1, let only = meeting.first, only.isContiguous, only.firstByte <= range.lowerBound, range.upperBound <= only.endByte {
            let blob = try folder.chunkTensor(fqn, chunk: only.chunk, dtype: dtype)
            let start = range.lowerBound - only.firstByte
            return try blob.withBytes { all in try body(UnsafeRawBufferPointer(rebasing: all[start..<start + range.count])) }
        }
        var out = [UInt8](repeating: 0, count: range.count)
        try out.withUnsafeMutableBytes { destination in
            for geometry in meeting {
                let blob = try folder.chunkTensor(fqn, chunk: geometry.chunk, dtype: dtype)
                try blob.withBytes { chunkBytes in
                    geometry.forEachRun { globalStart, chunkStart in
                        let lower = max(globalStart, range.lowerBound)
                        let upper = min(globalStart + geometry.runBytes, range.upperBound)
                        guard lower < upper else { return }
                        let source = UnsafeRawBufferPointer(rebasing: chunkBytes[(chunkStart + lower - globalStart)..<(chunkStart + upper - globalStart)])
                        UnsafeMutableRawBufferPointer(rebasing: destination[(lower - range.lowerBound)..<(upper - range.lowerBound)]).copyMemory(from: source)
                    }
                }
            }
        }
        return try out.withUnsafeBytes(body)
    }

    /// Drops the mapped pages of the items that hold `range`, so a conversion streaming through a
    /// DCP source keeps only the experts in hand resident.
    public func evict(_ range: Range<Int>) {
        forEachItem(meeting: range) { file, bytes in file.release(bytes) }
    }

    /// Starts reading the items that hold `range`.
    public func prefetch(_ range: Range<Int>) {
        forEachItem(meeting: range) { file, bytes in file.prefetch(bytes) }
    }

    /// The data file and byte range of every stored item that meets `range`.
    private func forEachItem(meeting range: Range<Int>, _ body: (MappedFile, Range<Int>) -> Void) {
        for geometry in index.meeting(range) {
            guard let info = folder.metadata.storage[DCPStorageKey(fqn: fqn, offsets: geometry.chunk.offsets)],
                let file = try? folder.dataFile(info.relativePath)
            else { continue }
            body(file, info.range)
        }
    }
}
