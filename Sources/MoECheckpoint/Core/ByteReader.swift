/// A bounds-checked cursor over untrusted bytes.
///
/// Every read of a file-declared structure goes through here, so an offset taken from a file can
/// never index outside its buffer: a short buffer is a thrown `ByteReader.OutOfBounds`, never a
/// crash. Callers turn that into their format's error with the file name.
public struct ByteReader {
    /// A read asked for bytes past the end.
    public struct OutOfBounds: Error, Equatable {
        /// Where the read started.
        public let offset: Int
        /// How many bytes it wanted.
        public let wanted: Int
        /// How many bytes the buffer has.
        public let available: Int
    }

    /// The bytes being read (borrowed: valid only inside the caller's `withBytes`).
    public let bytes: UnsafeRawBufferPointer
    /// The cursor.
    public var offset: Int

    /// Starts reading `bytes` at `offset`.
    public init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    /// Bytes left after the cursor.
    public var remaining: Int { max(bytes.count - offset, 0) }
    /// Whether the cursor is at the end.
    public var isAtEnd: Bool { offset >= bytes.count }

    /// Checks that `count` bytes are available at the cursor.
    public func require(_ count: Int) throws {
        guard count >= 0, offset >= 0, offset <= bytes.count, count <= bytes.count - offset else {
            throw OutOfBounds(offset: offset, wanted: count, available: bytes.count)
        }
    }

    /// Reads a little-endian integer.
    public mutating func readLE<T: FixedWidthInteger>(_ type: T.Type = T.self) throws -> T {
        try require(MemoryLayout<T>.size)
        let value = T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += MemoryLayout<T>.size
        return value
    }

    /// Reads a big-endian integer (pickle's BINFLOAT is the only big-endian field we meet).
    public mutating func readBE<T: FixedWidthInteger>(_ type: T.Type = T.self) throws -> T {
        try require(MemoryLayout<T>.size)
        let value = T(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += MemoryLayout<T>.size
        return value
    }

    /// Reads one byte.
    public mutating func readByte() throws -> UInt8 {
        try require(1)
        defer { offset += 1 }
        return bytes[offset]
    }

    /// Returns the next `count` bytes as a sub-buffer and advances.
    public mutating func slice(_ count: Int) throws -> UnsafeRawBufferPointer {
        try require(count)
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count])
    }

    /// Reads `count` bytes as an array.
    public mutating func readBytes(_ count: Int) throws -> [UInt8] {
        Array(try slice(count))
    }

    /// Moves the cursor to an absolute position inside the buffer.
    public mutating func seek(to position: Int) throws {
        guard position >= 0, position <= bytes.count else {
            throw OutOfBounds(offset: position, wanted: 0, available: bytes.count)
        }
        offset = position
    }
}
