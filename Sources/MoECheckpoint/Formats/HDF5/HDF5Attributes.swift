import CHDF5

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// String and integer attributes on a file, group or dataset.
///
/// Strings are written as scalar variable-length UTF-8 strings, which h5py returns as `str`
/// (a fixed-length one comes back as `bytes`, `swift-platform.md` Pitfall 5). Reading accepts
/// both, so files written by other tools work too. Call these holding `HDF5Library.withLock`.
extension HDF5Object {
    /// Whether the attribute exists.
    func hasAttribute(_ name: String, _ scope: HDF5Scope) throws -> Bool {
        try scope.check(H5Aexists(id, name), call: "H5Aexists") > 0
    }

    /// The string attribute `name`, or `nil` when absent.
    func stringAttribute(_ name: String, _ scope: HDF5Scope) throws -> String? {
        guard try hasAttribute(name, scope) else { return nil }
        let attribute = try scope.own(H5Aopen(id, name, hid_t(H5P_DEFAULT)), .attribute, call: "H5Aopen")
        let fileType = try scope.own(H5Aget_type(attribute.id), .datatype, call: "H5Aget_type")
        let space = try scope.own(H5Aget_space(attribute.id), .dataspace, call: "H5Aget_space")
        func malformed(_ reason: String) -> HDF5Error {
            .invalidAttribute(file: scope.file, object: scope.object, attribute: name, reason: reason)
        }
        guard H5Tget_class(fileType.id) == H5T_STRING else { throw malformed("not a string") }
        guard try scope.checkCount(H5Sget_simple_extent_npoints(space.id), call: "H5Sget_simple_extent_npoints") == 1 else {
            throw malformed("not a single string")
        }
        let memoryType = try scope.own(H5Tcopy(mc_h5t_c_s1()), .datatype, call: "H5Tcopy")
        try scope.check(H5Tset_cset(memoryType.id, H5Tget_cset(fileType.id)), call: "H5Tset_cset")
        if try scope.check(H5Tis_variable_str(fileType.id), call: "H5Tis_variable_str") > 0 {
            try scope.check(H5Tset_size(memoryType.id, mc_h5t_variable()), call: "H5Tset_size")
            var pointer: UnsafeMutablePointer<CChar>?
            try scope.check(H5Aread(attribute.id, memoryType.id, &pointer), call: "H5Aread")
            defer { if let pointer { H5free_memory(pointer) } }
            guard let pointer else { return "" }
            let length = strnlen(pointer, HDF5Limits.maxAttributeBytes + 1)
            guard length <= HDF5Limits.maxAttributeBytes else { throw malformed("longer than \(HDF5Limits.maxAttributeBytes) bytes") }
            return String(decoding: UnsafeRawBufferPointer(start: pointer, count: length), as: UTF8.self)
        }
        let size = H5Tget_size(fileType.id)
        guard size > 0, size <= HDF5Limits.maxAttributeBytes else { throw malformed("fixed string of \(size) bytes") }
        // The type's size is declared; only the attribute's stored bytes are backed by the file.
        let stored = H5Aget_storage_size(attribute.id)
        guard hsize_t(size) <= stored else { throw malformed("a fixed string of \(size) bytes with \(stored) bytes stored") }
        try scope.check(H5Tset_size(memoryType.id, size), call: "H5Tset_size")
        var buffer = [UInt8](repeating: 0, count: size)
        _ = try buffer.withUnsafeMutableBytes { try scope.check(H5Aread(attribute.id, memoryType.id, $0.baseAddress), call: "H5Aread") }
        return String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// The integer attribute `name` (a scalar or a 1-D array of any integer type), or `nil`.
    func integersAttribute(_ name: String, _ scope: HDF5Scope) throws -> [Int64]? {
        guard try hasAttribute(name, scope) else { return nil }
        let attribute = try scope.own(H5Aopen(id, name, hid_t(H5P_DEFAULT)), .attribute, call: "H5Aopen")
        let fileType = try scope.own(H5Aget_type(attribute.id), .datatype, call: "H5Aget_type")
        let space = try scope.own(H5Aget_space(attribute.id), .dataspace, call: "H5Aget_space")
        guard H5Tget_class(fileType.id) == H5T_INTEGER else {
            throw HDF5Error.invalidAttribute(file: scope.file, object: scope.object, attribute: name, reason: "not an integer")
        }
        let count = try scope.checkCount(H5Sget_simple_extent_npoints(space.id), call: "H5Sget_simple_extent_npoints")
        guard count <= TensorShape.maxRank else {
            throw HDF5Error.limitExceeded(file: scope.file, object: scope.object, what: "values in attribute '\(name)'", limit: TensorShape.maxRank, found: count)
        }
        var values = [Int64](repeating: 0, count: count)
        if count > 0 {
            _ = try values.withUnsafeMutableBytes {
                try scope.check(H5Aread(attribute.id, mc_h5t_native_int64(), $0.baseAddress), call: "H5Aread")
            }
        }
        return values
    }

    /// Writes (or replaces) a variable-length UTF-8 string attribute.
    func setStringAttribute(_ name: String, _ value: String, _ scope: HDF5Scope) throws {
        let type = try scope.own(H5Tcopy(mc_h5t_c_s1()), .datatype, call: "H5Tcopy")
        try scope.check(H5Tset_size(type.id, mc_h5t_variable()), call: "H5Tset_size")
        try scope.check(H5Tset_cset(type.id, H5T_CSET_UTF8), call: "H5Tset_cset")
        let space = try scope.own(H5Screate(H5S_SCALAR), .dataspace, call: "H5Screate")
        let attribute = try createAttribute(name, type: type, space: space, scope)
        try value.withCString { text in
            var pointer: UnsafePointer<CChar>? = text
            try scope.check(H5Awrite(attribute.id, type.id, &pointer), call: "H5Awrite")
        }
    }

    /// Writes (or replaces) an int64 attribute: a scalar, or a 1-D array when `scalar` is false.
    func setIntegersAttribute(_ name: String, _ values: [Int64], scalar: Bool = false, _ scope: HDF5Scope) throws {
        let type = try scope.own(H5Tcopy(mc_h5t_std_i64le()), .datatype, call: "H5Tcopy")
        let space: HDF5Object
        if scalar {
            precondition(values.count == 1, "a scalar attribute holds one value")
            space = try scope.own(H5Screate(H5S_SCALAR), .dataspace, call: "H5Screate")
        } else {
            var dims = [hsize_t(values.count)]
            space = try scope.own(H5Screate_simple(1, &dims, nil), .dataspace, call: "H5Screate_simple")
        }
        let attribute = try createAttribute(name, type: type, space: space, scope)
        guard !values.isEmpty else { return }  // nothing to write, and no buffer to pass
        _ = try values.withUnsafeBytes {
            try scope.check(H5Awrite(attribute.id, mc_h5t_native_int64(), $0.baseAddress), call: "H5Awrite")
        }
    }

    private func createAttribute(_ name: String, type: HDF5Object, space: HDF5Object, _ scope: HDF5Scope) throws -> HDF5Object {
        if try hasAttribute(name, scope) { try scope.check(H5Adelete(id, name), call: "H5Adelete") }
        return try scope.own(
            H5Acreate2(id, name, type.id, space.id, hid_t(H5P_DEFAULT), hid_t(H5P_DEFAULT)), .attribute, call: "H5Acreate2")
    }
}
