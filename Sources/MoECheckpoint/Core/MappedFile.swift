#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory mapping of a whole file.
///
/// Mapping costs no reads: pages come in only when a tensor's bytes are touched, so opening a
/// checkpoint of any size is a header parse. The mapping lives as long as this object; bytes are
/// reachable only inside `withBytes`, so no pointer outlives it.
public final class MappedFile: @unchecked Sendable {
    /// The path as given, used in every message about this file.
    public let path: String
    /// Size of the file when it was mapped.
    public let size: Int
    private let base: UnsafeRawPointer?
    /// Kept open so unchanged tensors can be copied in the kernel (`copy_file_range`) without
    /// ever mapping their pages into this process; -1 for an in-memory copy.
    let descriptor: Int32
    /// Whether `base` is a heap copy (`init(copying:path:)`) rather than a mapping.
    private let isHeapCopy: Bool

    /// Maps `path` read-only. Empty files are valid and map to an empty buffer.
    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError.errno(path: path, call: "open") }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let error = FileError.errno(path: path, call: "fstat")
            close(fd)
            throw error
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw FileError.systemCall(path: path, call: "open", reason: "not a regular file")
        }
        guard info.st_size >= 0, info.st_size <= Int64(Int.max / 2) else {
            close(fd)
            throw FileError.tooLarge(path: path, size: UInt64(max(info.st_size, 0)))
        }
        size = Int(info.st_size)
        descriptor = fd
        isHeapCopy = false
        if size == 0 {
            base = nil
            return
        }
        let pointer = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let pointer, pointer != MAP_FAILED else {
            let error = FileError.errno(path: path, call: "mmap")
            close(fd)
            throw error
        }
        base = UnsafeRawPointer(pointer)
    }

    /// A copy of `bytes` that behaves as a file named `path`: the fuzz targets and hostile-input
    /// tests run the same readers on memory, with no file system call per input.
    public init(copying bytes: UnsafeRawBufferPointer, path: String) {
        self.path = path
        size = bytes.count
        descriptor = -1
        isHeapCopy = true
        guard let source = bytes.baseAddress, bytes.count > 0 else {
            base = nil
            return
        }
        let copy = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 64)
        copy.copyMemory(from: source, byteCount: bytes.count)
        base = UnsafeRawPointer(copy)
    }

    deinit {
        if isHeapCopy {
            base.map { UnsafeMutableRawPointer(mutating: $0).deallocate() }
            return
        }
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), size) }
        close(descriptor)
    }

    /// Calls `body` with the bytes in `range`, which must lie inside the file (callers check
    /// ranges against `size` first and report their own, more precise error).
    public func withBytes<R>(_ range: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        precondition(range.lowerBound >= 0 && range.upperBound <= size, "range checked by caller")
        guard let base, !range.isEmpty else { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        return try body(UnsafeRawBufferPointer(start: base + range.lowerBound, count: range.count))
    }

    /// Calls `body` with the whole file.
    public func withAllBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withBytes(0..<size, body)
    }

    /// Hints that `range` will be read sequentially soon.
    public func adviseSequential(_ range: Range<Int>) {
        guard let base, !isHeapCopy, !range.isEmpty else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = range.lowerBound / page * page
        _ = madvise(UnsafeMutableRawPointer(mutating: base + start), range.upperBound - start, MADV_SEQUENTIAL)
    }

    /// Starts reading `range` in the background (`MADV_WILLNEED`).
    public func prefetch(_ range: Range<Int>) {
        guard let base, !isHeapCopy, !range.isEmpty else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = range.lowerBound / page * page
        _ = madvise(UnsafeMutableRawPointer(mutating: base + start), range.upperBound - start, MADV_WILLNEED)
    }

    /// Tells the kernel that `range` is no longer needed, so resident memory stays bounded
    /// while a conversion streams through a large file.
    public func release(_ range: Range<Int>) {
        guard let base, !isHeapCopy, !range.isEmpty else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = range.lowerBound / page * page
        _ = madvise(UnsafeMutableRawPointer(mutating: base + start), range.upperBound - start, MADV_DONTNEED)
    }
}
