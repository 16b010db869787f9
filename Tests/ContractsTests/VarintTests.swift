import Testing

@testable import Contracts

/// The one varint codec of the state encodings, against known bytes (the protocol buffers
/// encoding), both ways, and the encodings it refuses.
@Suite struct VarintTests {
    static let unsignedGolden: [(UInt64, [UInt8])] = [
        (0, [0x00]),
        (1, [0x01]),
        (127, [0x7F]),
        (128, [0x80, 0x01]),
        (300, [0xAC, 0x02]),
        (16_383, [0xFF, 0x7F]),
        (16_384, [0x80, 0x80, 0x01]),
        (UInt64(UInt32.max), [0xFF, 0xFF, 0xFF, 0xFF, 0x0F]),
        (1 << 63, [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]),
        (UInt64.max, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]),
    ]

    static let signedGolden: [(Int64, [UInt8])] = [
        (0, [0x00]),
        (-1, [0x01]),
        (1, [0x02]),
        (-2, [0x03]),
        (63, [0x7E]),
        (-64, [0x7F]),
        (64, [0x80, 0x01]),
        (Int64.max, [0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]),
        (Int64.min, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]),
    ]

    @Test(arguments: unsignedGolden)
    func anUnsignedValueHasKnownBytes(value: UInt64, bytes: [UInt8]) throws {
        var written: [UInt8] = []
        Varint.append(value, to: &written)
        #expect(written == bytes, "\(value) encodes as \(bytes)")
        var position = 0
        #expect(try Varint.read(from: bytes, at: &position) == value)
        #expect(position == bytes.count, "the reader stops after the last byte of the varint")
    }

    @Test(arguments: signedGolden)
    func aSignedValueHasKnownBytes(value: Int64, bytes: [UInt8]) throws {
        var written: [UInt8] = []
        Varint.append(signed: value, to: &written)
        #expect(written == bytes, "\(value) encodes as \(bytes)")
        var position = 0
        #expect(try Varint.readSigned(from: bytes, at: &position) == value)
        #expect(position == bytes.count)
    }

    @Test func aVarintIsReadFromTheMiddleOfABufferAndTheRestIsLeft() throws {
        let bytes: [UInt8] = [0x09, 0xAC, 0x02, 0x05]
        var position = 1
        #expect(try Varint.read(from: bytes, at: &position) == 300)
        #expect(position == 3)
        #expect(try Varint.read(from: bytes, at: &position) == 5)
        #expect(position == 4)
    }

    static let refused: [(String, [UInt8], ContractsError)] = [
        ("no bytes", [], .varintTruncated(offset: 0)),
        ("a continuation bit on the last byte", [0x80], .varintTruncated(offset: 0)),
        ("nine bytes that all continue", [UInt8](repeating: 0xFF, count: 9), .varintTruncated(offset: 0)),
        (
            "a 10th byte of 2 (bit 65)", [UInt8](repeating: 0xFF, count: 9) + [0x02],
            .varintOverlong(offset: 0)
        ),
        (
            "a 10th byte of 0x7F", [UInt8](repeating: 0x80, count: 9) + [0x7F],
            .varintOverlong(offset: 0)
        ),
        (
            "an 11th byte (0 padded with continuations)", [UInt8](repeating: 0x80, count: 10) + [0x00],
            .varintOverlong(offset: 0)
        ),
        (
            "eleven bytes of UInt64.max", [UInt8](repeating: 0xFF, count: 10) + [0x01],
            .varintOverlong(offset: 0)
        ),
    ]

    @Test(arguments: refused)
    func anEncodingNoWriterProducesIsRefused(name: String, bytes: [UInt8], error: ContractsError) {
        var position = 0
        #expect(throws: error, "\(name)") { try Varint.read(from: bytes, at: &position) }
        #expect(position == 0, "\(name): a refused varint does not move the reader")
    }

    @Test func aRefusalNamesTheByteWhereTheVarintStarts() {
        let bytes: [UInt8] = [0x01, 0x02] + [UInt8](repeating: 0xFF, count: 9) + [0x03]
        var position = 2
        #expect(throws: ContractsError.varintOverlong(offset: 2)) { try Varint.read(from: bytes, at: &position) }
        #expect(ContractsError.varintOverlong(offset: 2).description == "varint longer than 64 bits at byte 2")
    }

    /// Every value of a sweep over magnitudes round-trips, signed and unsigned, and takes at most
    /// `maxLength` bytes.
    @Test func valuesAcrossEveryLengthRoundTrip() throws {
        for shift in 0..<64 {
            for delta in [-1, 0, 1] as [Int64] {
                let magnitude = Int64(bitPattern: UInt64(1) << UInt64(shift)) &+ delta
                for value in [magnitude, 0 &- magnitude] {
                    var bytes: [UInt8] = []
                    Varint.append(signed: value, to: &bytes)
                    Varint.append(UInt64(bitPattern: value), to: &bytes)
                    var position = 0
                    #expect(try Varint.readSigned(from: bytes, at: &position) == value)
                    let signedLength = position
                    #expect(try Varint.read(from: bytes, at: &position) == UInt64(bitPattern: value))
                    #expect(signedLength <= Varint.maxLength && position - signedLength <= Varint.maxLength)
                    #expect(position == bytes.count)
                }
            }
        }
    }
}
