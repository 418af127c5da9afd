/// `torch.topk` over one token's scores: the indices of the `k` largest values, largest first.
///
/// Equal values keep the lower index first, and NaN ranks below every number, so the result
/// is deterministic whatever the input. The routing fixtures keep a clear margin at every
/// choice, so the tie order (which torch does not specify) never decides a test.
enum TopK {
    /// Indices of the `k` largest of `values`, in descending order of value.
    static func indices(_ values: UnsafeBufferPointer<Float>, _ k: Int) -> [Int] {
        var chosen: [Int] = []
        chosen.reserveCapacity(k)
        for i in values.indices {
            let v = values[i]
            // Insertion into the sorted prefix: E is at most a few hundred and k a handful.
            var position = chosen.count
            while position > 0 && ranksAbove(v, values[chosen[position - 1]]) { position -= 1 }
            if position < k {
                chosen.insert(i, at: position)
                if chosen.count > k { chosen.removeLast() }
            }
        }
        return chosen
    }

    /// Same, over an array.
    static func indices(_ values: [Float], _ k: Int) -> [Int] {
        values.withUnsafeBufferPointer { indices($0, k) }
    }

    /// Whether `a` strictly outranks `b` (NaN never outranks, and is outranked by any number).
    @inline(__always)
    static func ranksAbove(_ a: Float, _ b: Float) -> Bool {
        if a.isNaN { return false }
        if b.isNaN { return true }
        return a > b
    }
}
