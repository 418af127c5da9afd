/// File names that metadata gives for files beside it (a safetensors index's shards, a DCP
/// `.metadata`'s data files). A plain name stays in that folder: an empty name, `.`, `..`, a
/// separator or a NUL would let a hostile checkpoint point outside it.
enum PlainFileName {
    static func isPlain(_ name: String) -> Bool {
        // Bytes, not `String.contains(_: String)`: Foundation's substring search cost 4 % of
        // `inspect` on a 2,000-entry index.
        !name.isEmpty && name != "." && name != ".." && !name.utf8.contains { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "\\") || $0 == 0 }
    }
}
