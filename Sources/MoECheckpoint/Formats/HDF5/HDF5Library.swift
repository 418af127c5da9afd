import CHDF5
import CSystemShims
import Foundation

/// Process-wide access to libhdf5: one lock, a silenced error stack, and the only code that
/// compares HDF5 return values with negative numbers (`HDF5Scope.check` / `checkID`).
enum HDF5Library {
    /// Serialises every HDF5 call. Debian's libhdf5 is built thread-safe, but other builds
    /// (Homebrew, source builds) are not, and a failing call must be followed by reading *its*
    /// error stack before another call pushes onto it. Recursive, because a writer may pull a
    /// tensor from an HDF5 source while it writes.
    private static let lock = NSRecursiveLock()

    /// Runs `body` holding the HDF5 lock, with automatic error printing turned off.
    ///
    /// libhdf5 prints a multi-line `HDF5-DIAG` trace to stderr on every failing call unless
    /// `H5Eset_auto2(H5E_DEFAULT, NULL, NULL)` was called. In thread-safe builds that setting
    /// lives in the calling thread's error stack, so it is set on every entry rather than once
    /// per process: a test runner or a worker pool calls from many threads. The call is cheap.
    ///
    /// libhdf5 is not hardened against hostile files (`docs/security.md`): a corrupt file can make
    /// it abort or fault. While the lock is held the crash guard is armed, so in the command-line
    /// tool such a crash ends as one error line naming the file and exit 2.
    @discardableResult
    static func withLock<R>(_ body: () throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        csys_crash_guard_arm(crashMessage)
        defer { csys_crash_guard_disarm() }
        _ = H5Eset_auto2(hid_t(H5E_DEFAULT), nil, nil)
        return try body()
    }

    /// The line the crash guard prints; names the HDF5 file opened last.
    nonisolated(unsafe) private static var crashMessage = message(file: "an HDF5 file")

    /// Names `file` in the crash guard's line from now on (called before a file is opened).
    static func guardFile(_ file: String) {
        lock.lock()
        defer { lock.unlock() }
        crashMessage = message(file: file)
    }

    private static func message(file: String) -> String {
        "moe-ckpt: error: \(file): libhdf5 crashed decoding this file: expected a valid HDF5 file, found a corrupt or hostile one\n"
    }

    /// The messages on the calling thread's error stack, outermost (the API function) to
    /// innermost (the root cause), and whether the library classed the failure as a truncated
    /// file; the stack is cleared afterwards.
    static func takeErrorStack() -> (messages: [String], truncated: Bool) {
        final class Collector {
            var messages: [String] = []
            var truncated = false
        }
        let collector = Collector()
        let walker: H5E_walk2_t = { _, error, context in
            guard let error, let context else { return 0 }
            let collector = Unmanaged<Collector>.fromOpaque(context).takeUnretainedValue()
            let entry = error.pointee
            if let text = entry.desc, collector.messages.count < HDF5Limits.maxErrorMessages {
                collector.messages.append(String(cString: text))
            }
            if entry.min_num == mc_h5e_truncated() { collector.truncated = true }
            return 0
        }
        _ = H5Ewalk2(hid_t(H5E_DEFAULT), H5E_WALK_DOWNWARD, walker, Unmanaged.passUnretained(collector).toOpaque())
        _ = H5Eclear2(hid_t(H5E_DEFAULT))
        return (collector.messages, collector.truncated)
    }

    /// One line from the stack: the API function's message and the root cause.
    static func summarize(_ messages: [String]) -> String {
        var parts: [String] = []
        for message in [messages.first, messages.last].compactMap({ $0 }) where !parts.contains(message) {
            parts.append(message)
        }
        return parts.isEmpty ? "no message on the HDF5 error stack" : parts.joined(separator: ": ")
    }
}

/// Where an HDF5 call is made (file and object path), so every failure names both.
struct HDF5Scope: Sendable {
    /// The file, as the user gave it.
    let file: String
    /// The object path or key the call works on.
    let object: String

    /// The same file, another object.
    func at(_ object: String) -> HDF5Scope { HDF5Scope(file: file, object: object) }

    /// Throws the failure on the error stack when `status` (an `herr_t` or `htri_t`) is negative.
    @discardableResult
    func check(_ status: Int32, call: String) throws -> Int32 {
        if status < 0 { throw failure(call: call) }
        return status
    }

    /// Throws the failure on the error stack when `id` is negative, or returns it.
    func checkID(_ id: hid_t, call: String) throws -> hid_t {
        if id < 0 { throw failure(call: call) }
        return id
    }

    /// Throws when a count-returning call (`int` / `ssize_t`) failed, or returns the count.
    @discardableResult
    func checkCount<T: BinaryInteger>(_ count: T, call: String) throws -> Int {
        if count < 0 { throw failure(call: call) }
        return Int(count)
    }

    /// Wraps a new identifier in an owning handle, or throws the failure.
    func own(_ id: hid_t, _ kind: HDF5Object.Kind, call: String) throws -> HDF5Object {
        HDF5Object(taking: try checkID(id, call: call), kind: kind)
    }

    /// The error for a failed `call`, with the library's own message.
    func failure(call: String) -> HDF5Error {
        let stack = HDF5Library.takeErrorStack()
        if stack.truncated {
            return .truncated(file: file, reason: stack.messages.last ?? "the file ends before its superblock's end-of-file address")
        }
        return .libraryCall(file: file, object: object, call: call, message: HDF5Library.summarize(stack.messages))
    }
}
