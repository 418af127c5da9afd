import CHDF5

/// Every hard link below the root, found without following anything that leaves the file.
///
/// `H5Lvisit` (the 1.10 name; 1.12 and later call it `H5Lvisit2`) walks links recursively and
/// visits each object once, so hard-link cycles cannot loop. Soft, external and user-defined links
/// are refused rather than skipped: an external link would make libhdf5 open another file, and a
/// soft link could present one dataset under two names.
enum HDF5Links {
    /// Absolute paths (`/model/layers/0/...`) of the hard links, in name order.
    static func hardLinks(in file: HDF5File) throws -> [String] {
        final class Collector {
            var paths: [String] = []
            var refused: (path: String, kind: String)?
            var overflow = false
            /// Each hard link takes at least `HDF5Limits.minimumLinkBytes` of the file.
            var limit = HDF5Limits.maxObjects
        }
        let collector = Collector()
        collector.limit = min(HDF5Limits.maxObjects, file.size / HDF5Limits.minimumLinkBytes + 1)
        let visitor: H5L_iterate_t = { _, name, info, context in
            guard let name, let info, let context else { return -1 }
            let collector = Unmanaged<Collector>.fromOpaque(context).takeUnretainedValue()
            let path = "/" + String(cString: name)
            switch info.pointee.type {
            case H5L_TYPE_HARD:
                guard collector.paths.count < collector.limit else {
                    collector.overflow = true
                    return 1
                }
                collector.paths.append(path)
                return 0
            case H5L_TYPE_SOFT: collector.refused = (path, "soft")
            case H5L_TYPE_EXTERNAL: collector.refused = (path, "external")
            default: collector.refused = (path, "user-defined")
            }
            return 1  // stop: the file is refused
        }
        try HDF5Library.withLock {
            let status = H5Lvisit(file.handle.id, H5_INDEX_NAME, H5_ITER_INC, visitor, Unmanaged.passUnretained(collector).toOpaque())
            try file.scope().check(status, call: "H5Lvisit")
        }
        if let refused = collector.refused {
            throw HDF5Error.unsupportedLink(file: file.path, object: refused.path, kind: refused.kind)
        }
        if collector.overflow {
            throw HDF5Error.limitExceeded(file: file.path, object: "/", what: "links", limit: collector.limit, found: collector.limit + 1)
        }
        return collector.paths
    }
}
