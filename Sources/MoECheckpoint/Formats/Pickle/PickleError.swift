/// One case per rule of the allow-list pickle machine (`formats.md` §6.2, §6.3). Every case
/// names the pickle (`file.pt: data.pkl`), the byte offset of the opcode, what was expected and
/// what was found.
public enum PickleError: Error, Equatable, Sendable {
    /// An operand or length runs past the end of the pickle.
    case truncated(source: String, offset: Int, opcode: String, needed: Int, available: Int)
    /// A byte that is not a pickle opcode.
    case unknownOpcode(source: String, offset: Int, byte: UInt8)
    /// An opcode the machine never executes (INST, OBJ, text forms, out-of-band buffers, ...).
    case refusedOpcode(source: String, offset: Int, opcode: String, reason: String)
    /// PROTO outside 2…5, or not first.
    case unsupportedProtocol(source: String, offset: Int, found: String)
    /// An opcode needs more values than the stack (above the mark) holds.
    case stackUnderflow(source: String, offset: Int, opcode: String, needed: Int, found: Int)
    /// More values on the stack than `PickleLimits.maxStackDepth`.
    case stackTooDeep(source: String, offset: Int, limit: Int)
    /// More open MARKs than `PickleLimits.maxMarkDepth`.
    case markTooDeep(source: String, offset: Int, limit: Int)
    /// An opcode that needs a MARK found none.
    case missingMark(source: String, offset: Int, opcode: String)
    /// A memo index at or beyond `PickleLimits.maxMemoIndex`.
    case memoIndexTooLarge(source: String, offset: Int, index: UInt64, limit: Int)
    /// A GET of a memo index that was never PUT.
    case memoMissing(source: String, offset: Int, index: UInt64)
    /// More objects (counting shared ones each time they are reachable) than the budget.
    case objectBudget(source: String, offset: Int, limit: Int)
    /// More string and bytes payload than the budget.
    case stringBudget(source: String, offset: Int, limit: Int)
    /// A LONG1/LONG4 wider than `PickleLimits.maxLongBytes`.
    case integerTooLarge(source: String, offset: Int, bytes: Int, limit: Int)
    /// A string that is not UTF-8 (or not latin-1 where that is required).
    case invalidString(source: String, offset: Int, reason: String)
    /// A GLOBAL that names code the machine refuses to reference (`os.system`, `builtins.eval`, ...).
    case forbiddenGlobal(source: String, offset: Int, module: String, name: String, reason: String)
    /// A GLOBAL whose module or name is not a dotted identifier.
    case invalidGlobal(source: String, offset: Int, found: String)
    /// An opcode applied to a value of the wrong kind.
    case wrongType(source: String, offset: Int, opcode: String, expected: String, found: String)
    /// A persistent id that is not `('storage', type, key, location, numel)`.
    case invalidPersistentID(source: String, offset: Int, expected: String, found: String)
    /// A tensor rebuild with arguments torch would reject or that point outside the storage.
    case invalidTensor(source: String, offset: Int, expected: String, found: String)
    /// Containers nested deeper than `PickleLimits.maxNesting`.
    case nestingTooDeep(source: String, offset: Int, limit: Int)
    /// A container mutated after it was nested in another (cyclic or hand-made pickles).
    case mutatedAfterNesting(source: String, offset: Int, opcode: String, kind: String)
    /// A container that contains itself.
    case cycle(source: String, kind: String)
    /// STOP with the wrong stack or open marks.
    case invalidStop(source: String, offset: Int, expected: String, found: String)
    /// The pickle ends without STOP.
    case missingStop(source: String, offset: Int)
    /// Bytes after STOP.
    case trailingBytes(source: String, offset: Int, count: Int)
    /// The pickler was handed a value it cannot write at protocol 2.
    case unpicklable(kind: String, reason: String)
    /// The JSON view of a value (`args` as settings) would expand shared values past a budget.
    case viewTooLarge(source: String, key: String, limit: String)
}

extension PickleError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .truncated(let source, let offset, let opcode, let needed, let available):
            return "\(source): pickle opcode \(opcode) at byte \(offset): expected \(needed) operand bytes, found \(available) before the end"
        case .unknownOpcode(let source, let offset, let byte):
            return "\(source): pickle byte \(offset): expected an opcode, found unknown byte 0x\(String(byte, radix: 16))"
        case .refusedOpcode(let source, let offset, let opcode, let reason):
            return "\(source): pickle opcode \(opcode) at byte \(offset) is refused: \(reason)"
        case .unsupportedProtocol(let source, let offset, let found):
            return "\(source): pickle byte \(offset): expected protocol 2 to 5, found \(found)"
        case .stackUnderflow(let source, let offset, let opcode, let needed, let found):
            return "\(source): pickle opcode \(opcode) at byte \(offset): expected \(needed) value(s) on the stack, found \(found)"
        case .stackTooDeep(let source, let offset, let limit):
            return "\(source): pickle byte \(offset): stack grows beyond \(limit) values"
        case .markTooDeep(let source, let offset, let limit):
            return "\(source): pickle opcode MARK at byte \(offset): more than \(limit) open marks"
        case .missingMark(let source, let offset, let opcode):
            return "\(source): pickle opcode \(opcode) at byte \(offset): expected an open MARK, found none"
        case .memoIndexTooLarge(let source, let offset, let index, let limit):
            return "\(source): pickle byte \(offset): memo index \(index) exceeds the limit of \(limit)"
        case .memoMissing(let source, let offset, let index):
            return "\(source): pickle byte \(offset): memo index \(index) was never stored"
        case .objectBudget(let source, let offset, let limit):
            return "\(source): pickle byte \(offset): more than \(limit) objects (pickle bomb?)"
        case .stringBudget(let source, let offset, let limit):
            return "\(source): pickle byte \(offset): more than \(limit) bytes of strings (pickle bomb?)"
        case .integerTooLarge(let source, let offset, let bytes, let limit):
            return "\(source): pickle byte \(offset): integer of \(bytes) bytes, at most \(limit) allowed"
        case .invalidString(let source, let offset, let reason):
            return "\(source): pickle byte \(offset): invalid string: \(reason)"
        case .forbiddenGlobal(let source, let offset, let module, let name, let reason):
            return "\(source): pickle opcode GLOBAL at byte \(offset): refusing '\(module).\(name)': \(reason)"
        case .invalidGlobal(let source, let offset, let found):
            return "\(source): pickle opcode GLOBAL at byte \(offset): expected 'module name' identifiers, found '\(found)'"
        case .wrongType(let source, let offset, let opcode, let expected, let found):
            return "\(source): pickle opcode \(opcode) at byte \(offset): expected \(expected), found \(found)"
        case .invalidPersistentID(let source, let offset, let expected, let found):
            return "\(source): pickle opcode BINPERSID at byte \(offset): expected \(expected), found \(found)"
        case .invalidTensor(let source, let offset, let expected, let found):
            return "\(source): tensor rebuilt at pickle byte \(offset): expected \(expected), found \(found)"
        case .nestingTooDeep(let source, let offset, let limit):
            return "\(source): pickle byte \(offset): containers nest deeper than \(limit) levels (recursion bomb?)"
        case .mutatedAfterNesting(let source, let offset, let opcode, let kind):
            return "\(source): pickle opcode \(opcode) at byte \(offset): expected a container that is not yet nested in another, found a nested \(kind) (cyclic or reordered pickle)"
        case .cycle(let source, let kind):
            return "\(source): pickle \(kind) contains itself; cyclic values are not supported"
        case .invalidStop(let source, let offset, let expected, let found):
            return "\(source): pickle opcode STOP at byte \(offset): expected \(expected), found \(found)"
        case .missingStop(let source, let offset):
            return "\(source): pickle ends at byte \(offset) without STOP"
        case .trailingBytes(let source, let offset, let count):
            return "\(source): \(count) byte(s) after the pickle's STOP at byte \(offset)"
        case .unpicklable(let kind, let reason):
            return "cannot pickle \(kind): \(reason)"
        case .viewTooLarge(let source, let key, let limit):
            return "\(source): '\(key)': expected a value that shows in at most \(limit), found more (shared values repeated?)"
        }
    }
}

/// Named limits of the pickle machine (`formats.md` §6.2). The defaults suit every real
/// checkpoint by orders of magnitude; tests lower them to exercise each one.
public struct PickleLimits: Sendable {
    /// Values on the stack at once.
    public var maxStackDepth = 100_000
    /// Open MARKs at once.
    public var maxMarkDepth = 1_000
    /// Container nesting in the finished value (walks over it recurse this deep at most).
    public var maxNesting = 1_000
    /// Largest memo index BINPUT/LONG_BINPUT may use.
    public var maxMemoIndex = 10_000_000
    /// Widest LONG1/LONG4 integer, in bytes (512 bits).
    public var maxLongBytes = 64
    /// Objects per input byte (shared objects count every time they are reachable), plus `objectFloor`.
    public var objectsPerInputByte = 4
    /// Objects always allowed, however small the input.
    public var objectFloor = 100_000
    /// String and bytes payload per input byte.
    public var stringBytesPerInputByte = 4

    public init() {}

    /// The object budget for an input of `size` bytes.
    func objectBudget(inputSize: Int) -> Int { objectFloor + objectsPerInputByte * inputSize }
    /// The string budget for an input of `size` bytes.
    func stringBudget(inputSize: Int) -> Int { stringBytesPerInputByte * inputSize + 64 }
}
