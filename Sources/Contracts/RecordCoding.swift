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

    /// A decoding failure for people (logs, DLT reasons, fixture errors), e.g.
    /// `missing key "valid_at"` or `wrong type at score: expected a number`, instead of Swift's
    /// debug description of `DecodingError`.
    public static func describe(_ error: any Error) -> String {
        if let error = error as? ScoreRecordDecodingError { return error.description }
        guard let error = error as? DecodingError else { return "not valid JSON" }
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
                .replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case .keyNotFound(let key, let context):
            let parent = path(context)
            return "missing key \"\(key.stringValue)\"" + (parent.isEmpty ? "" : " in \(parent)")
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            let at = path(context)
            return "wrong type\(at.isEmpty ? "" : " at \(at)"): expected \(typeName(type))"
        case .dataCorrupted(let context):
            let at = path(context)
            return at.isEmpty ? "not valid JSON" : "bad value at \(at)"
        @unknown default:
            return "not a valid record"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "text"
        case is Int.Type, is Int64.Type, is Double.Type: "a number"
        case is Bool.Type: "true or false"
        case is [Any].Type: "a list"
        default: "an object"
        }
    }
}
