import CHDF5

/// An owning libhdf5 identifier: the matching `H5*close` runs in `deinit`, so no error path can
/// leak a handle (an open file handle would keep the file locked and its metadata cached).
/// `@unchecked Sendable`: the identifier is immutable and every call on it holds `HDF5Library`'s lock.
final class HDF5Object: @unchecked Sendable {
    /// What the identifier refers to, which decides the close call.
    enum Kind: Sendable {
        case file, group, dataset, dataspace, datatype, attribute, propertyList
        /// Opened with `H5Oopen`: a group, dataset or named datatype, closed with `H5Oclose`.
        case object
    }

    /// The raw identifier; valid as long as this object lives.
    let id: hid_t
    let kind: Kind

    /// Takes ownership of a valid (non-negative) identifier.
    init(taking id: hid_t, kind: Kind) {
        self.id = id
        self.kind = kind
    }

    deinit {
        let (id, kind) = (id, kind)
        HDF5Library.withLock {
            // A failed close has nobody to report to; the error stack is cleared by the next failure.
            switch kind {
            case .file: _ = H5Fclose(id)
            case .group: _ = H5Gclose(id)
            case .dataset: _ = H5Dclose(id)
            case .dataspace: _ = H5Sclose(id)
            case .datatype: _ = H5Tclose(id)
            case .attribute: _ = H5Aclose(id)
            case .propertyList: _ = H5Pclose(id)
            case .object: _ = H5Oclose(id)
            }
        }
    }
}
