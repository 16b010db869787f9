/// The one varint codec of the state encodings (the scorer's account state, the evaluator's alert
/// state, the dispatcher's destination schedules): base-128 little-endian groups of 7 bits, the high
/// bit set on every byte but the last (the encoding of protocol buffers); signed values zig-zag
/// first, so that small negative numbers stay short.
///
/// Decoding refuses what no encoder writes and what would not fit in 64 bits: a 10th byte above 1
/// (bits past the 64th) or an 11th byte. Non-minimal encodings that still fit (`0x80 0x00` for 0)
/// are read, as protocol buffers do.
public enum Varint {
    /// The most bytes a varint of 64 bits takes.
    public static let maxLength = 10

    /// Appends `value` as a varint to `bytes` (1 to 10 bytes).
    @inlinable
    public static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// Appends `value` zig-zagged, then as a varint, to `bytes`.
    @inlinable
    public static func append(signed value: Int64, to bytes: inout [UInt8]) {
        append(zigzag(value), to: &bytes)
    }

    /// Zig-zag: 0, -1, 1, -2, 2 … become 0, 1, 2, 3, 4 …; `Int64.min` becomes `UInt64.max`.
    @inlinable
    public static func zigzag(_ value: Int64) -> UInt64 {
        UInt64(bitPattern: (value << 1) ^ (value >> 63))
    }

    /// The inverse of `zigzag`, total over every `UInt64`.
    @inlinable
    public static func unzigzag(_ value: UInt64) -> Int64 {
        Int64(bitPattern: (value >> 1) ^ (0 &- (value & 1)))
    }

    /// Reads the varint that starts at `position` in `bytes` and moves `position` past it. On an
    /// error `position` is left where the varint started.
    @inlinable
    public static func read(from bytes: [UInt8], at position: inout Int) throws(ContractsError) -> UInt64 {
        let start = position
        var index = position
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard index >= 0, index < bytes.count else { throw .varintTruncated(offset: start) }
            let byte = bytes[index]
            index += 1
            if shift == 63 {
                // The 10th byte holds the 64th bit only: anything more would be silently lost.
                guard byte <= 1 else { throw .varintOverlong(offset: start) }
                result |= UInt64(byte) << 63
                position = index
                return result
            }
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 {
                position = index
                return result
            }
            shift += 7
        }
    }

    /// Reads a zig-zagged varint (see `read(from:at:)`).
    @inlinable
    public static func readSigned(from bytes: [UInt8], at position: inout Int) throws(ContractsError) -> Int64 {
        unzigzag(try read(from: bytes, at: &position))
    }
}
