import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Writes an output into a temporary sibling and renames it into place only when complete, so a
/// conversion killed at any point leaves either no destination or a whole one (`cli.md`).
public final class AtomicOutput {
    /// Where the result goes.
    public let destination: String
    /// Where writers write; a sibling of `destination`, never inside a source.
    public let temporary: String
    private let force: Bool
    private var finished = false

    /// Whether a failed run leaves `temporary` for a retry (a cluster's shared staging tree).
    private let keepsTemporary: Bool

    /// Refuses an existing destination without `force`, and any destination inside or equal to
    /// one of `sources`.
    public convenience init(destination: String, force: Bool, sources: [String]) throws {
        let parent = try Self.checkedParent(destination: destination, force: force, sources: sources)
        let name = URL(fileURLWithPath: destination).standardizedFileURL.lastPathComponent
        let temporary = (parent as NSString).appendingPathComponent(".\(name).moe-ckpt-\(getpid()).tmp")
        try? FileManager.default.removeItem(atPath: temporary)
        self.init(destination: destination, force: force, temporary: temporary, keepsTemporary: false)
    }

    /// An output whose temporary tree is `temporary`, shared by several processes and kept
    /// when this process stops before `commit` (`PartedOutput`).
    init(destination: String, force: Bool, temporary: String, keepsTemporary: Bool) {
        self.destination = destination
        self.force = force
        self.temporary = temporary
        self.keepsTemporary = keepsTemporary
    }

    /// The destination's parent folder, after the checks every output makes.
    static func checkedParent(destination: String, force: Bool, sources: [String]) throws -> String {
        let absolute = URL(fileURLWithPath: destination).standardizedFileURL.path
        for source in sources {
            let src = URL(fileURLWithPath: source).standardizedFileURL.path
            if absolute == src || absolute.hasPrefix(src.hasSuffix("/") ? src : src + "/") || src.hasPrefix(absolute + "/") {
                throw ConvertError.destinationOverlapsSource(destination: destination, source: source)
            }
        }
        if FileManager.default.fileExists(atPath: destination) && !force {
            throw ConvertError.destinationExists(destination: destination)
        }
        let parent = URL(fileURLWithPath: absolute).deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: parent, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw FileError.notFound(path: parent)
        }
        return parent
    }

    deinit {
        if !finished && !keepsTemporary { discard() }
    }

    /// Moves the finished temporary output into place (replacing the destination under `force`).
    public func commit() throws {
        let old = temporary + ".old"
        var movedAside = false
        if FileManager.default.fileExists(atPath: destination) {
            guard force else { throw ConvertError.destinationExists(destination: destination) }
            guard rename(destination, old) == 0 else { throw FileError.errno(path: destination, call: "rename") }
            movedAside = true
        }
        guard rename(temporary, destination) == 0 else {
            let error = FileError.errno(path: destination, call: "rename")
            if movedAside { _ = rename(old, destination) }
            throw error
        }
        finished = true
        if movedAside { try? FileManager.default.removeItem(atPath: old) }
        syncParent()
    }

    /// Removes whatever was written.
    public func discard() {
        finished = true
        try? FileManager.default.removeItem(atPath: temporary)
    }

    private func syncParent() {
        let parent = (URL(fileURLWithPath: destination).standardizedFileURL.deletingLastPathComponent().path)
        let fd = open(parent, O_RDONLY | O_CLOEXEC)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
    }
}
