/// Where each key's dataset goes: one group per dotted component, as Keras weight files and
/// h5py users navigate modules (`decoder.layers.0.mlp.router.weight` →
/// `/decoder/layers/0/mlp/router/weight`), or `/__flat__/<index>` when the key cannot be a path.
///
/// A key cannot be a path when a component is empty (`a..b`, `.a`) or holds a `/`; when its first
/// component starts with `__` (reserved for the convention's own groups); or when it collides
/// with an earlier key (`a.b` is a dataset, so `a.b.c` cannot put a group there, and the other
/// way round). The exact key always travels in the `key` attribute, so readers never parse paths.
enum HDF5KeyPaths {
    /// One dataset path per key, in order. Keys with a NUL byte (cut short by C strings) and
    /// duplicates are errors naming `file`.
    static func plan(_ keys: [String], file: String) throws -> [String] {
        var datasets = Set<String>()
        var groups = Set<String>()
        var seen = Set<String>()
        var paths: [String] = []
        paths.reserveCapacity(keys.count)
        for (index, key) in keys.enumerated() {
            guard !key.isEmpty else { throw HDF5Error.invalidKey(file: file, key: key, reason: "the key is empty") }
            guard !key.utf8.contains(0) else { throw HDF5Error.invalidKey(file: file, key: key, reason: "it contains a NUL byte") }
            guard seen.insert(key).inserted else { throw HDF5Error.invalidKey(file: file, key: key, reason: "it appears twice") }
            let flat = "/\(HDF5Convention.flatGroup)/\(index)"
            guard let components = groupComponents(key) else {
                paths.append(flat)
                continue
            }
            let prefixes = (1..<components.count).map { "/" + components[..<$0].joined(separator: "/") }
            let path = "/" + components.joined(separator: "/")
            if datasets.contains(path) || groups.contains(path) || prefixes.contains(where: datasets.contains) {
                paths.append(flat)
                continue
            }
            groups.formUnion(prefixes)
            datasets.insert(path)
            paths.append(path)
        }
        return paths
    }

    /// The key's components when each can be an HDF5 link name, else `nil`.
    static func groupComponents(_ key: String) -> [Substring]? {
        let components = key.split(separator: ".", omittingEmptySubsequences: false)
        guard let first = components.first, !first.hasPrefix("__") else { return nil }
        for component in components where component.isEmpty || component.contains("/") {
            return nil
        }
        return components
    }

    /// The key of a dataset without a `key` attribute (a file from another tool): the path with
    /// dots, so h5py's `/model/layers/0/weight` reads as `model.layers.0.weight`.
    static func key(fromPath path: String) -> String {
        path.split(separator: "/").joined(separator: ".")
    }
}
