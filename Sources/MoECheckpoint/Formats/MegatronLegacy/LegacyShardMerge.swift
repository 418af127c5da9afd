/// Merges the tensor-parallel rank files of one pipeline stage and EP rank into full tensors:
/// each entry's shards are joined by its `MegatronTensorParallel` split (lazily, through
/// `GatheredTensor`), replicated entries are checked equal-shaped and taken once.
enum LegacyShardMerge {
    /// `ranks[r]` holds TP rank r's entries. Every rank must hold the same keys in the same order.
    static func merge(_ ranks: [[LegacyEntry]], glu: Bool) throws -> [LegacyEntry] {
        guard ranks.count > 1, let base = ranks.first else { return ranks.first ?? [] }
        var merged: [LegacyEntry] = []
        for (index, entry) in base.enumerated() {
            var shards: [any TensorSource] = []
            for rank in ranks {
                let other = index < rank.count ? rank[index] : nil
                guard let other, other.key == entry.key, (other.tensor == nil) == (entry.tensor == nil) else {
                    throw MegatronLegacyError.shardMismatch(
                        file: rank.first?.file ?? entry.file, key: entry.key, expected: "the same entry at position \(index)",
                        found: other.map { "'\($0.key)'" } ?? "no entry", otherFile: entry.file)
                }
                if let tensor = other.tensor { shards.append(tensor.source) }
            }
            guard let tensor = entry.tensor else {
                merged.append(entry)
                continue
            }
            guard let split = MegatronTensorParallel.split(of: entry.key, glu: glu) else {
                throw MegatronLegacyError.unknownTensorParallelSplit(file: entry.file, key: entry.key)
            }
            for (rank, shard) in shards.enumerated() where shard.shape != tensor.shape || shard.dtype != tensor.dtype {
                throw MegatronLegacyError.shardMismatch(
                    file: ranks[rank][index].file, key: entry.key, expected: describe(tensor.source), found: describe(shard), otherFile: entry.file)
            }
            do {
                merged.append(entry.renamed(entry.key, source: try split.merge(shards)))
            } catch let error as TensorParallelSplit.Indivisible {
                throw MegatronLegacyError.shardMismatch(
                    file: entry.file, key: entry.key, expected: "\(error.what) of the merged tensor divisible by tensor parallel \(ranks.count)",
                    found: describe(tensor.source), otherFile: entry.file)
            }
        }
        if let longer = ranks.first(where: { $0.count > base.count }) {
            let extra = longer[base.count]
            throw MegatronLegacyError.shardMismatch(
                file: extra.file, key: extra.key, expected: "only the entries of \(base[0].file)", found: "an extra entry", otherFile: base[0].file)
        }
        return merged
    }

    private static func describe(_ source: any TensorSource) -> String {
        "\(source.dtype.rawValue) \(TensorShape.describe(source.shape))"
    }
}
