import CSystemShims

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A new file written front to back with large `write` calls, then `fsync`ed.
///
/// It refuses to open an existing path (`O_EXCL`): outputs only ever go into a fresh temporary
/// sibling (`AtomicOutput`), so nothing can truncate a file someone still has mapped.
///
/// Two variants serve cluster mode (`OutputScope`): a *counting* file writes nothing and only
/// advances `position`, so a process can plan the offsets of files another process writes; a
/// *replacing* file is written under a temporary name and renamed over `path` when closed, so a
/// retried part replaces its own earlier file whole.
public final class OutputFile {
    public let path: String
    private var fd: Int32
    /// Bytes written so far.
    public private(set) var position = 0
    /// Whether this file only counts bytes (nothing is opened, read or written).
    public let isCounting: Bool
    /// The temporary name a replacing file is written under; renamed to `path` by `close`.
    private let temporaryPath: String?
    /// Largest single `write`; bigger user-space chunks were slower here (`swift-platform.md` §4).
    static let chunk = 8 << 20
    /// Written bytes are handed to the disk every this many bytes (`sync_file_range`), so the
    /// disk writes while the next tensors are read and transformed instead of all at `fsync`.
    static let writebackBytes = 32 << 20
    /// Bytes before this offset have been handed to the disk.
    private var writebackStart = 0

    public init(creating path: String) throws {
        self.path = path
        isCounting = false
        temporaryPath = nil
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileError.errno(path: path, call: "open") }
    }

    /// A file that writes nothing: `position` says how large `path` would be.
    public init(counting path: String) {
        self.path = path
        isCounting = true
        temporaryPath = nil
        fd = -1
    }

    /// A file written under `path` + `.moe-ckpt-<pid>.tmp` and renamed over `path` by `close`.
    public init(replacing path: String) throws {
        self.path = path
        isCounting = false
        let temporary = path + Self.temporarySuffix(pid: getpid())
        temporaryPath = temporary
        unlink(temporary)
        fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileError.errno(path: temporary, call: "open") }
    }

    /// The suffix of a replacing file's temporary name (finalize removes strays of killed parts).
    public static func temporarySuffix(pid: Int32) -> String { ".moe-ckpt-\(pid).tmp" }

    deinit {
        if fd >= 0 {
            Glibc.close(fd)
            if let temporaryPath { unlink(temporaryPath) }
        }
    }

    /// Writes all of `bytes`, retrying short writes; ENOSPC and EFBIG become errors naming the file.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        if isCounting {
            position += bytes.count
            return
        }
        var offset = 0
        while offset < bytes.count {
            let length = min(bytes.count - offset, Self.chunk)
            let written = Glibc.write(fd, bytes.baseAddress! + offset, length)
            if written < 0 {
                if errno == EINTR { continue }
                throw FileError.errno(path: path, call: "write")
            }
            if written == 0 { throw FileError.shortWrite(path: path, expected: bytes.count, written: offset) }
            offset += written
        }
        position += bytes.count
        startWriteback()
    }

    /// Starts writeback of what was written since the last call, once that is large enough.
    private func startWriteback() {
        guard position - writebackStart >= Self.writebackBytes else { return }
        _ = csys_start_writeback(fd, Int64(writebackStart), Int64(position - writebackStart))
        writebackStart = position
    }

    /// Counts `count` bytes a counting file would hold, without any bytes.
    public func skip(_ count: Int) throws {
        precondition(isCounting, "only counting files skip")
        position += count
    }

    /// Writes an array.
    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Writes a string as UTF-8.
    public func write(_ text: String) throws {
        try write(Array(text.utf8))
    }

    /// Streams one tensor's bytes, in the kernel when the source is a file range.
    public func write(_ source: any TensorSource) throws {
        if isCounting {
            position += source.byteCount
            return
        }
        try source.write(to: self)
    }

    /// Copies `range` of `file` to the end of this file with `copy_file_range`, so the bytes
    /// never enter this process; falls back to writing from the mapping where the kernel
    /// refuses (another filesystem, an old kernel).
    public func copy(from file: MappedFile, range: Range<Int>) throws {
        if isCounting {
            position += range.count
            return
        }
        var sourceOffset = Int64(range.lowerBound)
        var remaining = range.count
        while remaining > 0 {
            var targetOffset = Int64(position)
            let copied = csys_copy_file_range(file.descriptor, &sourceOffset, fd, &targetOffset, min(remaining, 1 << 30))
            if copied < 0 {
                if errno == EINTR { continue }
                if errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL {
                    let done = range.count - remaining
                    try file.withBytes(range.lowerBound + done..<range.upperBound) { try write($0) }
                    file.release(range)
                    return
                }
                throw FileError.errno(path: path, call: "copy_file_range")
            }
            if copied == 0 { throw FileError.shortWrite(path: path, expected: range.count, written: range.count - remaining) }
            remaining -= copied
            position += copied
            // copy_file_range does not move the descriptor's own offset: keep later writes after it.
            lseek(fd, off_t(position), SEEK_SET)
            startWriteback()
        }
    }

    /// Flushes to disk and closes; the first error wins.
    public func close() throws {
        guard fd >= 0 else { return }
        defer { fd = -1 }
        if fsync(fd) != 0 {
            let error = FileError.errno(path: path, call: "fsync")
            Glibc.close(fd)
            throw error
        }
        if Glibc.close(fd) != 0 { throw FileError.errno(path: path, call: "close") }
        if let temporaryPath, rename(temporaryPath, path) != 0 { throw FileError.errno(path: path, call: "rename") }
    }

    /// Writes a whole small file in one go.
    public static func write(_ bytes: [UInt8], to path: String) throws {
        let file = try OutputFile(creating: path)
        try file.write(bytes)
        try file.close()
    }
}
