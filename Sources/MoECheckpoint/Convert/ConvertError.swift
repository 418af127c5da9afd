/// Errors of `convert` that are not about one container.
public enum ConvertError: Error, Equatable, Sendable, CustomStringConvertible {
    /// DST exists and `--force` was not given.
    case destinationExists(destination: String)
    /// DST would be written into (or over) the source.
    case destinationOverlapsSource(destination: String, source: String)
    /// No writer for the requested layout and format in this build.
    case unsupportedTarget(layout: Layout, format: ContainerFormat, reason: String)
    /// The expert count does not divide by `--ep`.
    case expertParallelMismatch(experts: Int, ep: Int, layer: Int)
    /// Experts are missing or duplicated across the source files.
    case incompleteExperts(path: String, problems: [String])
    /// A cast the target cannot take.
    case invalidCast(key: String, from: DType, to: DType)
    /// Canonical tensors that must share one native tensor have different dtypes.
    case mixedDTypes(key: String, dtypes: [String])
    /// The target layout has no row for a canonical tensor the source holds.
    case noTargetRow(layout: String, what: String)
    /// The target's metadata must state routing settings that neither the source nor an option gives.
    case routingUnknown(path: String, layout: Layout, missing: [String])

    public var description: String {
        switch self {
        case .destinationExists(let destination):
            return "\(destination): already exists (pass --force to replace it)"
        case .destinationOverlapsSource(let destination, let source):
            return "\(destination): refusing to write into or over the source \(source)"
        case .unsupportedTarget(let layout, let format, let reason):
            return "cannot write layout \(layout.rawValue) as \(format.rawValue): \(reason)"
        case .expertParallelMismatch(let experts, let ep, let layer):
            return "layer \(layer): \(experts) experts do not divide by --ep \(ep)"
        case .incompleteExperts(let path, let problems):
            let shown = problems.prefix(20).joined(separator: "; ")
            return "\(path): incomplete MoE experts (\(problems.count) problem\(problems.count == 1 ? "" : "s")): \(shown)\(problems.count > 20 ? "; …" : "")"
        case .invalidCast(let key, let from, let to):
            return "tensor '\(key)': cannot cast \(from.rawValue) to \(to.rawValue)"
        case .mixedDTypes(let key, let dtypes):
            return "\(key): parts of one tensor have different dtypes (\(dtypes.joined(separator: ", ")))"
        case .noTargetRow(let layout, let what):
            return "layout \(layout) has no key for \(what); it would be lost"
        case .routingUnknown(let path, let layout, let missing):
            return "\(path): \(layout.rawValue) metadata needs \(missing.joined(separator: ", ")), which the source does not record "
                + "(no Megatron args, HF config.json, OLMo-core config.json or moe-ckpt record); pass "
                + missing.map { MoEConfig.option(for: $0) }.joined(separator: ", ") + " or --moe-config FILE"
        }
    }
}
