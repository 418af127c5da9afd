/// The pickle opcodes of protocols 2–5 that the machine executes or writes (`formats.md` §1.6).
enum PickleOpcode: UInt8 {
    case proto = 0x80
    case frame = 0x95
    case stop = 0x2E
    case mark = 0x28
    case none = 0x4E
    case newTrue = 0x88
    case newFalse = 0x89
    case binInt = 0x4A
    case binInt1 = 0x4B
    case binInt2 = 0x4D
    case long1 = 0x8A
    case long4 = 0x8B
    case binFloat = 0x47
    case binUnicode = 0x58
    case shortBinUnicode = 0x8C
    case binUnicode8 = 0x8D
    case shortBinString = 0x55
    case binString = 0x54
    case shortBinBytes = 0x43
    case binBytes = 0x42
    case binBytes8 = 0x8E
    case emptyTuple = 0x29
    case tuple1 = 0x85
    case tuple2 = 0x86
    case tuple3 = 0x87
    case tuple = 0x74
    case emptyList = 0x5D
    case append = 0x61
    case appends = 0x65
    case emptyDict = 0x7D
    case setItem = 0x73
    case setItems = 0x75
    case emptySet = 0x8F
    case addItems = 0x90
    case frozenSet = 0x91
    case binPut = 0x71
    case longBinPut = 0x72
    case memoize = 0x94
    case binGet = 0x68
    case longBinGet = 0x6A
    case global = 0x63
    case stackGlobal = 0x93
    case reduce = 0x52
    case newObj = 0x81
    case newObjEx = 0x92
    case build = 0x62
    case binPersID = 0x51

    /// The pickletools name, for messages.
    var name: String {
        switch self {
        case .proto: return "PROTO"
        case .frame: return "FRAME"
        case .stop: return "STOP"
        case .mark: return "MARK"
        case .none: return "NONE"
        case .newTrue: return "NEWTRUE"
        case .newFalse: return "NEWFALSE"
        case .binInt: return "BININT"
        case .binInt1: return "BININT1"
        case .binInt2: return "BININT2"
        case .long1: return "LONG1"
        case .long4: return "LONG4"
        case .binFloat: return "BINFLOAT"
        case .binUnicode: return "BINUNICODE"
        case .shortBinUnicode: return "SHORT_BINUNICODE"
        case .binUnicode8: return "BINUNICODE8"
        case .shortBinString: return "SHORT_BINSTRING"
        case .binString: return "BINSTRING"
        case .shortBinBytes: return "SHORT_BINBYTES"
        case .binBytes: return "BINBYTES"
        case .binBytes8: return "BINBYTES8"
        case .emptyTuple: return "EMPTY_TUPLE"
        case .tuple1: return "TUPLE1"
        case .tuple2: return "TUPLE2"
        case .tuple3: return "TUPLE3"
        case .tuple: return "TUPLE"
        case .emptyList: return "EMPTY_LIST"
        case .append: return "APPEND"
        case .appends: return "APPENDS"
        case .emptyDict: return "EMPTY_DICT"
        case .setItem: return "SETITEM"
        case .setItems: return "SETITEMS"
        case .emptySet: return "EMPTY_SET"
        case .addItems: return "ADDITEMS"
        case .frozenSet: return "FROZENSET"
        case .binPut: return "BINPUT"
        case .longBinPut: return "LONG_BINPUT"
        case .memoize: return "MEMOIZE"
        case .binGet: return "BINGET"
        case .longBinGet: return "LONG_BINGET"
        case .global: return "GLOBAL"
        case .stackGlobal: return "STACK_GLOBAL"
        case .reduce: return "REDUCE"
        case .newObj: return "NEWOBJ"
        case .newObjEx: return "NEWOBJ_EX"
        case .build: return "BUILD"
        case .binPersID: return "BINPERSID"
        }
    }

    /// Opcodes that exist but are never executed, with the reason (`formats.md` §1.6).
    static let refused: [UInt8: (name: String, reason: String)] = [
        0x69: ("INST", "protocol-0 instance creation calls arbitrary classes"),
        0x6F: ("OBJ", "protocol-1 instance creation calls arbitrary classes"),
        0x50: ("PERSID", "text persistent ids are never written by torch"),
        0x82: ("EXT1", "extension registry codes name arbitrary globals"),
        0x83: ("EXT2", "extension registry codes name arbitrary globals"),
        0x84: ("EXT4", "extension registry codes name arbitrary globals"),
        0x70: ("PUT", "text memo opcodes are never written at protocol 2+"),
        0x67: ("GET", "text memo opcodes are never written at protocol 2+"),
        0x49: ("INT", "text numbers are never written at protocol 2+"),
        0x4C: ("LONG", "text numbers are never written at protocol 2+"),
        0x46: ("FLOAT", "text numbers are never written at protocol 2+"),
        0x53: ("STRING", "text strings are never written at protocol 2+"),
        0x56: ("UNICODE", "text strings are never written at protocol 2+"),
        0x30: ("POP", "never written by torch"),
        0x31: ("POP_MARK", "never written by torch"),
        0x32: ("DUP", "never written by torch"),
        0x6C: ("LIST", "protocol-0 containers are never written at protocol 2+"),
        0x64: ("DICT", "protocol-0 containers are never written at protocol 2+"),
        0x96: ("BYTEARRAY8", "out-of-band buffers are not supported"),
        0x97: ("NEXT_BUFFER", "out-of-band buffers are not supported"),
        0x98: ("READONLY_BUFFER", "out-of-band buffers are not supported"),
    ]
}
