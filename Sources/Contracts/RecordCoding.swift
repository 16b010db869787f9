import Foundation

/// The one JSON coding of every record the fleet writes: sorted keys, no escaped slashes, so the
/// same value always gives the same bytes.
public enum RecordCoding {
    /// A fresh encoder with the fleet's settings (JSONEncoder is not safe to share across threads).
    public static func makeEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .throw
        return encoder
    }

    public static func makeDecoder() -> JSONDecoder { JSONDecoder() }

    public static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        Array(try makeEncoder().encode(value))
    }

    public static func decode<T: Decodable>(_ type: T.Type, from bytes: some Collection<UInt8>) throws -> T {
        try makeDecoder().decode(type, from: Data(bytes))
    }
}
