import Foundation
@testable import MoECheckpoint

/// Builds small zip archives and pickles by hand, so each hostile-input test states exactly the
/// one rule it breaks.
struct RawZip {
    struct Entry {
        var name: String
        var data: [UInt8]
        var method: UInt16 = 0
        /// Declared sizes and CRC; default to the real ones.
        var declaredUncompressed: UInt32?
        var declaredCRC: UInt32?
        var flags: UInt16 = 0x0800
        var localName: String?
        var localSignature: UInt32 = 0x0403_4B50
    }

    var entries: [Entry]
    /// Shifts the central directory offset written in the end record.
    var directoryOffsetDelta = 0

    /// The archive bytes: local headers and data, central directory, classic end record.
    func bytes() -> [UInt8] {
        var out: [UInt8] = []
        var offsets: [Int] = []
        var crcs: [UInt32] = []
        var sizes: [(UInt32, UInt32)] = []
        for entry in entries {
            offsets.append(out.count)
            let uncompressed = entry.data.count
            let crc = entry.declaredCRC ?? entry.data.withUnsafeBytes { Zlib.crc32($0) }
            let payload = entry.method == 8 ? Zlib.deflateRaw(entry.data) : entry.data
            let size = (UInt32(payload.count), entry.declaredUncompressed ?? UInt32(uncompressed))
            crcs.append(crc)
            sizes.append(size)
            let name = Array((entry.localName ?? entry.name).utf8)
            out.appendLE(entry.localSignature)
            out.appendLE(UInt16(20))
            out.appendLE(entry.flags)
            out.appendLE(entry.method)
            out.appendLE(UInt32(0))
            out.appendLE(crc)
            out.appendLE(size.0)
            out.appendLE(size.1)
            out.appendLE(UInt16(name.count))
            out.appendLE(UInt16(0))
            out += name
            out += payload
        }
        let directoryOffset = out.count
        for (i, entry) in entries.enumerated() {
            let name = Array(entry.name.utf8)
            out.appendLE(UInt32(0x0201_4B50))
            out.appendLE(UInt16(20))
            out.appendLE(UInt16(20))
            out.appendLE(entry.flags)
            out.appendLE(entry.method)
            out.appendLE(UInt32(0))
            out.appendLE(crcs[i])
            out.appendLE(sizes[i].0)
            out.appendLE(sizes[i].1)
            out.appendLE(UInt16(name.count))
            out.appendLE(UInt16(0))
            out.appendLE(UInt16(0))
            out.appendLE(UInt16(0))
            out.appendLE(UInt16(0))
            out.appendLE(UInt32(0))
            out.appendLE(UInt32(offsets[i]))
            out += name
        }
        let directorySize = out.count - directoryOffset
        out.appendLE(UInt32(0x0605_4B50))
        out.appendLE(UInt16(0))
        out.appendLE(UInt16(0))
        out.appendLE(UInt16(entries.count))
        out.appendLE(UInt16(entries.count))
        out.appendLE(UInt32(directorySize))
        out.appendLE(UInt32(directoryOffset + directoryOffsetDelta))
        out.appendLE(UInt16(0))
        return out
    }
}

/// Pickle bytes written opcode by opcode.
struct PickleBytes {
    var bytes: [UInt8] = [0x80, 2]

    init(proto: Bool = true) {
        if !proto { bytes = [] }
    }

    mutating func op(_ byte: UInt8, _ operand: [UInt8] = []) {
        bytes.append(byte)
        bytes += operand
    }

    mutating func global(_ module: String, _ name: String) {
        op(0x63, Array("\(module)\n\(name)\n".utf8))
    }

    mutating func string(_ text: String) {
        var operand: [UInt8] = []
        operand.appendLE(UInt32(text.utf8.count))
        op(0x58, operand + Array(text.utf8))
    }

    mutating func stop() { op(0x2E) }

    /// An int as BININT, or LONG1 when it needs more than 32 bits.
    mutating func int(_ value: Int64) {
        if let small = Int32(exactly: value) {
            op(0x4A, withUnsafeBytes(of: small.littleEndian) { Array($0) })
        } else {
            op(0x8A, [8] + withUnsafeBytes(of: value.littleEndian) { Array($0) })
        }
    }

    /// `torch._utils._rebuild_tensor_v2(FloatStorage 'key' of numel elements, 0, size, stride,
    /// False, OrderedDict())`, as torch.save writes a tensor.
    mutating func rebuildTensor(storage key: String, numel: UInt8, size: [Int64], stride: [Int64]) {
        global("torch._utils", "_rebuild_tensor_v2")
        op(0x28)
        op(0x28)
        string("storage")
        global("torch", "FloatStorage")
        string(key)
        string("cpu")
        op(0x4B, [numel])
        op(0x74)
        op(0x51)
        op(0x4B, [0])
        op(0x28); for s in size { int(s) }; op(0x74)
        op(0x28); for s in stride { int(s) }; op(0x74)
        op(0x89)
        global("collections", "OrderedDict"); op(0x29); op(0x52)
        op(0x74)
        op(0x52)
    }

    /// A complete pickle: PROTO 2, `body`, STOP.
    static func make(_ body: (inout PickleBytes) -> Void) -> [UInt8] {
        var p = PickleBytes()
        body(&p)
        p.stop()
        return p.bytes
    }
}

/// Writes bytes to a new file in `folder` and returns its path.
func writeFile(_ bytes: [UInt8], _ name: String, in folder: TemporaryFolder) throws -> String {
    let path = folder.path(name)
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
}

/// The error `body` throws, if any.
func caught<T>(_ body: () throws -> T) -> Error? {
    do {
        _ = try body()
        return nil
    } catch {
        return error
    }
}
