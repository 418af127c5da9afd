import CZlib

/// The only door to zlib: CRC-32 and raw-deflate inflation for zip entries.
///
/// zlib's own `crc32_z` is used rather than a hand-written table (the issue asks for the
/// design card's zlib), and `inflateInit2_` is called directly because the `inflateInit2`
/// macro does not import into Swift (`swift-platform.md` §3).
enum Zlib {
    /// Why inflation stopped.
    enum InflateFailure: Error, Equatable {
        /// zlib reported an error code (`Z_DATA_ERROR`, ...), with its message when it gave one.
        case zlib(code: Int32, message: String)
        /// The stream produced more bytes than the caller allowed.
        case tooLarge(limit: Int)
        /// The compressed data ended before the deflate stream did.
        case truncated
        /// The stream ended before producing the expected number of bytes.
        case short(expected: Int, found: Int)
    }

    /// CRC-32 (ISO-HDLC, as zip uses) of `bytes`, continuing from `crc`.
    static func crc32(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
        return UInt32(truncatingIfNeeded: CZlib.crc32_z(UInt(crc), base.assumingMemoryBound(to: Bytef.self), bytes.count))
    }

    /// Inflates a raw deflate stream into exactly `expectedSize` bytes.
    ///
    /// The output buffer is allocated at `expectedSize` + 1, which the caller has capped: a
    /// stream that wants to write more stops at the spare byte (zip bombs never get more memory
    /// than the central directory declared and the caller allowed).
    static func inflateRaw(_ input: UnsafeRawBufferPointer, expectedSize: Int) throws -> [UInt8] {
        var stream = z_stream()
        let initStatus = inflateInit2_(&stream, -MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard initStatus == Z_OK else { throw InflateFailure.zlib(code: initStatus, message: "inflateInit2 failed") }
        defer { inflateEnd(&stream) }
        let capacity = expectedSize + 1
        var output = [UInt8](repeating: 0, count: capacity)
        var consumed = 0
        var produced = 0
        // avail_in / avail_out are 32-bit: feed at most 1 GiB per call.
        let chunk = 1 << 30
        while true {
            let (status, madeProgress): (Int32, Bool) = output.withUnsafeMutableBytes { out in
                let inCount = min(input.count - consumed, chunk)
                let outCount = min(capacity - produced, chunk)
                stream.next_in = input.baseAddress.map { UnsafeMutablePointer(mutating: $0.assumingMemoryBound(to: Bytef.self) + consumed) }
                stream.avail_in = uInt(inCount)
                stream.next_out = out.baseAddress!.assumingMemoryBound(to: Bytef.self) + produced
                stream.avail_out = uInt(outCount)
                let s = inflate(&stream, Z_NO_FLUSH)
                let used = inCount - Int(stream.avail_in)
                let made = outCount - Int(stream.avail_out)
                consumed += used
                produced += made
                return (s, used > 0 || made > 0)
            }
            if produced > expectedSize { throw InflateFailure.tooLarge(limit: expectedSize) }
            if status == Z_STREAM_END { break }
            guard status == Z_OK || status == Z_BUF_ERROR else {
                let message = stream.msg.map { String(cString: $0) } ?? "error \(status)"
                throw InflateFailure.zlib(code: status, message: message)
            }
            if !madeProgress { throw InflateFailure.truncated }
        }
        guard produced == expectedSize else { throw InflateFailure.short(expected: expectedSize, found: produced) }
        output.removeLast()
        return output
    }

    /// Compresses `bytes` as raw deflate (tests use it to build re-zipped archives).
    static func deflateRaw(_ bytes: [UInt8]) -> [UInt8] {
        var stream = z_stream()
        guard deflateInit2_(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return [] }
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, uLong(bytes.count)))
        var output = [UInt8](repeating: 0, count: bound)
        var input = bytes
        let written: Int = input.withUnsafeMutableBytes { inp in
            output.withUnsafeMutableBytes { out in
                stream.next_in = inp.baseAddress?.assumingMemoryBound(to: Bytef.self)
                stream.avail_in = uInt(inp.count)
                stream.next_out = out.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(out.count)
                _ = deflate(&stream, Z_FINISH)
                return out.count - Int(stream.avail_out)
            }
        }
        return Array(output[0..<written])
    }
}
