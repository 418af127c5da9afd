import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The staging tree of a conversion spread over processes (`docs/cluster.md`), a sibling of DST:
///
/// ```
/// .DST.moe-ckpt-parts/
///   checkpoint/               the future DST; each part adds its own data files
///   part-0002-of-0003.done    written last by part 2: the plan fingerprint, then its files
/// ```
///
/// Nothing appears at DST until `--finalize` has checked every part, written the shared files
/// and renamed `checkpoint/` into place.
public final class PartedOutput {
    public let destination: String
    public let staging: String
    /// Where the writers write: the tree that becomes DST.
    public let checkpoint: String
    private let force: Bool

    /// Checks DST as every conversion does and creates the staging tree (parts may race here).
    public init(destination: String, force: Bool, sources: [String]) throws {
        let parent = try AtomicOutput.checkedParent(destination: destination, force: force, sources: sources)
        let name = URL(fileURLWithPath: destination).standardizedFileURL.lastPathComponent
        staging = (parent as NSString).appendingPathComponent(".\(name).moe-ckpt-parts")
        checkpoint = (staging as NSString).appendingPathComponent("checkpoint")
        self.destination = destination
        self.force = force
    }

    /// Creates the staging folder (shared by every part; it may exist).
    public func prepare() throws {
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
    }

    private func markerName(_ part: ConvertPart) -> String {
        String(format: "part-%04d-of-%04d.done", part.index + 1, part.count)
    }

    /// Records that `part` has written (and closed) all its files.
    public func markFinished(_ part: ConvertPart, scope: OutputScope) throws {
        let own = scope.dataFiles.filter { $0.part == part.index }.map { relative($0.path) }
        let text = ([scope.fingerprint(relativeTo: checkpoint)] + own).joined(separator: "\n") + "\n"
        let marker = try OutputFile(replacing: (staging as NSString).appendingPathComponent(markerName(part)))
        try marker.write(text)
        try marker.close()
    }

    /// The `N` of the finished parts; every part `1…N` must have finished.
    public func finishedPartCount() throws -> Int {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: staging) else { throw PartError.noParts(staging: staging) }
        let parts = names.compactMap(Self.parseMarker)
        let counts = Set(parts.map(\.count)).sorted()
        guard let count = counts.first else { throw PartError.noParts(staging: staging) }
        guard counts.count == 1 else { throw PartError.mixedPartCounts(staging: staging, counts: counts) }
        let done = Set(parts.map(\.index))
        let missing = (0..<count).filter { !done.contains($0) }.map { $0 + 1 }
        guard missing.isEmpty else { throw PartError.missingParts(staging: staging, missing: missing, count: count) }
        return count
    }

    /// `part-IIII-of-NNNN.done` → the part.
    static func parseMarker(_ name: String) -> ConvertPart? {
        guard name.hasPrefix("part-"), name.hasSuffix(".done") else { return nil }
        let fields = name.dropFirst(5).dropLast(5).split(separator: "-")
        guard fields.count == 3, fields[1] == "of", let i = Int(fields[0]), let n = Int(fields[2]), (1...n).contains(i) else { return nil }
        return ConvertPart(index: i - 1, count: n)
    }

    /// Checks finalize's plan against what the parts wrote: the same fingerprint in every
    /// marker, every data file at its planned size, nothing else but the shared files. Then
    /// removes the temporary files of killed attempts.
    public func check(_ scope: OutputScope, count: Int) throws {
        let expected = scope.fingerprint(relativeTo: checkpoint)
        for index in 0..<count {
            let marker = (staging as NSString).appendingPathComponent(markerName(ConvertPart(index: index, count: count)))
            let found = try MappedFile(path: marker).withAllBytes { String(decoding: $0, as: UTF8.self) }.split(separator: "\n").first.map(String.init) ?? ""
            guard found == expected else { throw PartError.planMismatch(marker: marker, expected: expected, found: found) }
        }
        var known = Set(scope.sharedPaths.map(relative))
        for file in scope.dataFiles {
            let size = DCPFolder.regularFileSize(file.path)
            guard size == file.size else {
                throw PartError.dataFile(path: file.path, part: file.part, count: count, expectedBytes: file.size, foundBytes: size)
            }
            known.insert(relative(file.path))
        }
        let walker = FileManager.default.enumerator(atPath: checkpoint)
        while let name = walker?.nextObject() as? String {
            let path = (checkpoint as NSString).appendingPathComponent(name)
            guard DCPFolder.regularFileSize(path) != nil else { continue }
            if name.hasSuffix(".tmp") && name.contains(".moe-ckpt-") {
                unlink(path)
            } else if !known.contains(name) {
                throw PartError.unexpectedFile(path: path)
            }
        }
    }

    /// Renames the checked tree to DST and removes the staging folder.
    public func commit() throws {
        try AtomicOutput(destination: destination, force: force, temporary: checkpoint, keepsTemporary: true).commit()
        try? FileManager.default.removeItem(atPath: staging)
    }

    private func relative(_ path: String) -> String {
        let prefix = checkpoint + "/"
        return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
    }
}
