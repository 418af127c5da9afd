/// Errors of cluster mode (`--part I/N`, `--finalize`); each names the staging folder or file.
public enum PartError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `--part` is not `I/N` with 1 ≤ I ≤ N.
    case invalidPart(value: String, reason: String)
    /// The target is one file, which several parts cannot share.
    case singleFileTarget(destination: String, format: ContainerFormat)
    /// `--finalize` found no part in the staging folder.
    case noParts(staging: String)
    /// Parts of different `N` share one staging folder.
    case mixedPartCounts(staging: String, counts: [Int])
    /// Parts that have not finished (1-based).
    case missingParts(staging: String, missing: [Int], count: Int)
    /// A part was run with options that plan other files than finalize does.
    case planMismatch(marker: String, expected: String, found: String)
    /// A planned data file is absent or has another size than planned.
    case dataFile(path: String, part: Int, count: Int, expectedBytes: Int, foundBytes: Int?)
    /// A file in the staging tree that the plan does not have (left by another conversion).
    case unexpectedFile(path: String)

    public var description: String {
        switch self {
        case .invalidPart(let value, let reason):
            return "--part \(value): expected I/N with 1 ≤ I ≤ N (parts are numbered from 1), found \(reason)"
        case .singleFileTarget(let destination, let format):
            return "\(destination): a single-file \(format.rawValue) target cannot be split into parts; convert it in one process, or choose a folder format (safetensors folder, torch_dist, legacy, dcp)"
        case .noParts(let staging):
            return "\(staging): no finished part found; run every 'convert ... --part I/N' before '--finalize'"
        case .mixedPartCounts(let staging, let counts):
            return "\(staging): parts of different splits (N = \(counts.map(String.init).joined(separator: ", "))) share this staging folder; remove it and convert again"
        case .missingParts(let staging, let missing, let count):
            let list = missing.prefix(20).map { "\($0)/\(count)" }.joined(separator: ", ")
            return "\(staging): part\(missing.count == 1 ? "" : "s") \(list)\(missing.count > 20 ? ", …" : "") not finished; run (or rerun) them before '--finalize'"
        case .planMismatch(let marker, let expected, let found):
            return "\(marker): this part planned other files (plan \(found)) than finalize does (plan \(expected)); rerun it with the same SRC and options"
        case .dataFile(let path, let part, let count, let expectedBytes, let foundBytes):
            let found = foundBytes.map { "\($0) bytes" } ?? "no file"
            return "\(path): part \(part + 1)/\(count) should have written \(expectedBytes) bytes, found \(found); rerun that part"
        case .unexpectedFile(let path):
            return "\(path): not part of this conversion's plan (left by another conversion?); remove it"
        }
    }
}
