/// `--part I/N`: part `I` (1-based, as Slurm array tasks and people count) of `N`.
public struct ConvertPart: Equatable, Sendable {
    /// 0-based, for `OutputScope`.
    public let index: Int
    public let count: Int

    public init(index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    /// Parses `I/N`; anything but two integers with 1 ≤ I ≤ N is an error.
    public init(parsing text: String) throws {
        let fields = text.split(separator: "/", omittingEmptySubsequences: false)
        guard fields.count == 2, let i = Int(fields[0]), let n = Int(fields[1]) else {
            throw PartError.invalidPart(value: text, reason: "'\(text)'")
        }
        guard n >= 1 else { throw PartError.invalidPart(value: text, reason: "N = \(n)") }
        guard (1...n).contains(i) else { throw PartError.invalidPart(value: text, reason: "I = \(i)") }
        self.init(index: i - 1, count: n)
    }

    /// `I/N` as given.
    public var label: String { "\(index + 1)/\(count)" }
}
