import CHDF5
import Foundation

/// An open HDF5 file. Lazy tensors keep it alive; libhdf5 closes it when the last one goes.
/// `@unchecked Sendable`: every use of the handle goes through `HDF5Library.withLock`.
final class HDF5File: @unchecked Sendable {
    /// The path as given, used in every message.
    let path: String
    /// The file identifier.
    let handle: HDF5Object
    /// Bytes on disk when opened: no dataset may claim more storage than this.
    let size: Int

    private init(path: String, handle: HDF5Object, size: Int) {
        self.path = path
        self.handle = handle
        self.size = size
    }

    /// The scope for messages about `object` in this file.
    func scope(_ object: String = "/") -> HDF5Scope { HDF5Scope(file: path, object: object) }

    /// Opens an existing file, read-only unless `writable` (tests edit files to make them hostile).
    ///
    /// The signature is checked first (`H5Fis_hdf5`, which also finds it after a user block), so
    /// a file that is not HDF5 is named as such rather than as a failed `H5Fopen`. A file cut
    /// short fails in `H5Fopen` with HDF5's truncation error, which becomes `truncated`, as does
    /// a file cut inside its superblock (`HDF5Superblock`).
    static func open(_ path: String, writable: Bool = false) throws -> HDF5File {
        let size = try fileSize(path)
        HDF5Library.guardFile(path)
        return try HDF5Library.withLock {
            let scope = HDF5Scope(file: path, object: "/")
            guard try scope.check(H5Fis_hdf5(path), call: "H5Fis_hdf5") > 0 else {
                throw HDF5Error.notHDF5(file: path, found: describeStart(of: path))
            }
            let access = try scope.own(H5Pcreate(mc_h5p_file_access()), .propertyList, call: "H5Pcreate")
            // Close the file only when the last object in it is closed (lazy tensors may outlive
            // the reader's own handles).
            try scope.check(H5Pset_fclose_degree(access.id, H5F_CLOSE_WEAK), call: "H5Pset_fclose_degree")
            let flags = writable ? mc_h5f_acc_rdwr() : mc_h5f_acc_rdonly()
            let id = H5Fopen(path, flags, access.id)
            if id < 0, let truncation = HDF5Superblock.truncation(file: path, start: firstBytes(of: path), size: size) {
                _ = HDF5Library.takeErrorStack()
                throw truncation
            }
            let handle = try scope.own(id, .file, call: "H5Fopen")
            return HDF5File(path: path, handle: handle, size: size)
        }
    }

    /// Opens a file image held in memory, read-only, through libhdf5's core driver: the fuzz
    /// target runs the reader's own code (key paths, attributes, dtype conventions) on each input
    /// without a file system call. `name` stands for the file in messages.
    static func open(image: UnsafeRawBufferPointer, name: String) throws -> HDF5File {
        try HDF5Library.withLock {
            let scope = HDF5Scope(file: name, object: "/")
            guard image.starts(with: HDF5CheckpointReader.signature) else {
                throw HDF5Error.notHDF5(file: name, found: "\(min(image.count, 8)) bytes without the HDF5 signature")
            }
            let access = try scope.own(H5Pcreate(mc_h5p_file_access()), .propertyList, call: "H5Pcreate")
            try scope.check(H5Pset_fclose_degree(access.id, H5F_CLOSE_WEAK), call: "H5Pset_fclose_degree")
            try scope.check(H5Pset_fapl_core(access.id, 1 << 16, false), call: "H5Pset_fapl_core")
            // libhdf5 copies the image into its own buffer, so `image` need not outlive the call.
            try scope.check(H5Pset_file_image(access.id, UnsafeMutableRawPointer(mutating: image.baseAddress), image.count), call: "H5Pset_file_image")
            let id = H5Fopen(name, mc_h5f_acc_rdonly(), access.id)
            if id < 0, let truncation = HDF5Superblock.truncation(file: name, start: Array(image.prefix(16)), size: image.count) {
                _ = HDF5Library.takeErrorStack()
                throw truncation
            }
            let handle = try scope.own(id, .file, call: "H5Fopen")
            return HDF5File(path: name, handle: handle, size: image.count)
        }
    }

    /// Creates a new file; fails if `path` exists (outputs go to a fresh temporary sibling).
    static func create(_ path: String) throws -> HDF5File {
        try HDF5Library.withLock {
            let scope = HDF5Scope(file: path, object: "/")
            let handle = try scope.own(
                H5Fcreate(path, mc_h5f_acc_excl(), hid_t(H5P_DEFAULT), hid_t(H5P_DEFAULT)), .file, call: "H5Fcreate")
            return HDF5File(path: path, handle: handle, size: 0)
        }
    }

    /// Flushes the file's buffers to the operating system.
    func flush() throws {
        try HDF5Library.withLock {
            try scope().check(H5Fflush(handle.id, H5F_SCOPE_GLOBAL), call: "H5Fflush")
        }
    }

    private static func fileSize(_ path: String) throws -> Int {
        var info = stat()
        guard stat(path, &info) == 0 else { throw FileError.errno(path: path, call: "stat") }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw FileError.systemCall(path: path, call: "open", reason: "not a regular file")
        }
        return Int(info.st_size)
    }

    /// The first `count` bytes of the file (fewer when it is shorter or unreadable).
    private static func firstBytes(of path: String, count: Int = 16) -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else { return [] }
        defer { try? handle.close() }
        return [UInt8]((try? handle.read(upToCount: count)) ?? Data())
    }

    /// The first bytes, quoted for the `notHDF5` message.
    private static func describeStart(of path: String) -> String {
        guard FileHandle(forReadingAtPath: path) != nil else { return "an unreadable file" }
        let bytes = firstBytes(of: path, count: 8)
        if bytes.isEmpty { return "an empty file" }
        let text = bytes.map { (0x20..<0x7F).contains($0) ? String(UnicodeScalar($0)) : String(format: "\\x%02x", $0) }
        return "'" + text.joined() + "'"
    }
}
