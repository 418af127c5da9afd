/// What one process does of a conversion (`docs/cluster.md`): all of it, one part's data
/// files, or the final step that writes the shared metadata and makes DST appear.
public enum ClusterStep: Equatable, Sendable {
    case whole
    /// `--part I/N`.
    case part(ConvertPart)
    /// `--finalize`.
    case finalize

    /// Runs a part or the finalize step of `writer` for `request` through the staging tree of
    /// `destination`. Every process computes the writer's full plan; `OutputScope` decides which
    /// files it writes, so a part's files are the bytes a whole conversion would write.
    /// Returns the number of data files this process wrote.
    @discardableResult
    static func run(
        _ step: ClusterStep, writer: any CheckpointWriter.Type, request: WriteRequest, destination: String, force: Bool, source: String
    ) throws -> Int {
        let output = try PartedOutput(destination: destination, force: force, sources: [source])
        var request = request
        switch step {
        case .whole:
            preconditionFailure("a whole conversion has no staging tree")
        case .part(let part):
            try output.prepare()
            request.scope = OutputScope(.part(index: part.index, count: part.count))
            try writer.write(request, to: output.checkpoint)
            try output.markFinished(part, scope: request.scope)
            return request.scope.dataFiles.filter { $0.part == part.index }.count
        case .finalize:
            let count = try output.finishedPartCount()
            request.scope = OutputScope(.finalize, partCount: count)
            try writer.write(request, to: output.checkpoint)
            try output.check(request.scope, count: count)
            try output.commit()
            return 0
        }
    }
}
