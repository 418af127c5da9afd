#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Failures of the operating system around a file, with the path and the failing call.
public enum FileError: Error, Equatable, Sendable {
    /// The path does not exist.
    case notFound(path: String)
    /// A system call failed; `errno` is kept as text.
    case systemCall(path: String, call: String, reason: String)
    /// A file is larger than this process can map.
    case tooLarge(path: String, size: UInt64)
    /// A write ended early (disk full, file-size limit).
    case shortWrite(path: String, expected: Int, written: Int)

    static func errno(path: String, call: String) -> FileError {
        let code = Glibc.errno
        if code == ENOENT { return .notFound(path: path) }
        return .systemCall(path: path, call: call, reason: String(cString: strerror(code)))
    }
}

extension FileError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .notFound(let path): return "\(path): no such file or directory"
        case .systemCall(let path, let call, let reason): return "\(path): \(call) failed: \(reason)"
        case .tooLarge(let path, let size): return "\(path): file of \(size) bytes cannot be mapped"
        case .shortWrite(let path, let expected, let written):
            return "\(path): write failed: expected to write \(expected) bytes, wrote \(written) (disk full or file-size limit?)"
        }
    }
}
