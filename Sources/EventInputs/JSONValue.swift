import Foundation

/// A decoded JSON document, as an input record holds it: the normalisers read it by field path.
/// Booleans stay booleans and whole numbers stay exact (`Int64`); nothing in it is trusted.
public indirect enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// The value at `path`, or nil where a step is missing or of the wrong kind.
    public func value(at path: FieldPath) -> JSONValue? {
        var current = self
        for step in path.steps {
            switch (step, current) {
            case (.key(let key), .object(let members)):
                guard let next = members[key] else { return nil }
                current = next
            case (.index(let index), .array(let items)):
                guard items.indices.contains(index) else { return nil }
                current = items[index]
            default:
                return nil
            }
        }
        return current
    }

    /// The value as text when it is a scalar (a string as is, a number or boolean as written in JSON).
    public var scalarText: String? {
        switch self {
        case .string(let s): s
        case .integer(let i): String(i)
        case .number(let d): d.isFinite ? String(d) : nil
        case .bool(let b): b ? "true" : "false"
        case .null, .array, .object: nil
        }
    }

    /// The JSON kind, for messages ("expected a number, found a string").
    public var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer, .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// Parses `bytes` as one JSON document. Nil when it is not JSON (or nests deeper than
    /// `maxDepth`); the caller bounds the size before.
    public static func parse(_ bytes: [UInt8], maxDepth: Int = 64) -> JSONValue? {
        guard nesting(of: bytes) <= maxDepth else { return nil }
        guard let decoded = try? JSONDecoder().decode(Decoded.self, from: Data(bytes)) else { return nil }
        guard decoded.value.depth <= maxDepth else { return nil }
        return decoded.value
    }

    /// The deepest nesting of arrays and objects in `bytes` (outside strings), found before decoding
    /// so that a hostile document never recurses deep.
    static func nesting(of bytes: [UInt8]) -> Int {
        var depth = 0
        var deepest = 0
        var inString = false
        var escaped = false
        for byte in bytes {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                deepest = max(deepest, depth)
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
            default: break
            }
        }
        return deepest
    }

    var depth: Int {
        switch self {
        case .array(let items): 1 + (items.map(\.depth).max() ?? 0)
        case .object(let members): 1 + (members.values.map(\.depth).max() ?? 0)
        default: 0
        }
    }

    private struct Decoded: Decodable {
        let value: JSONValue

        init(from decoder: any Decoder) throws {
            if var items = try? decoder.unkeyedContainer() {
                var out: [JSONValue] = []
                while !items.isAtEnd { out.append(try items.decode(Decoded.self).value) }
                value = .array(out)
                return
            }
            if let members = try? decoder.container(keyedBy: AnyKey.self) {
                var out: [String: JSONValue] = [:]
                for key in members.allKeys {
                    out[key.stringValue] = try members.decode(Decoded.self, forKey: key).value
                }
                value = .object(out)
                return
            }
            let single = try decoder.singleValueContainer()
            if single.decodeNil() {
                value = .null
            } else if let b = try? single.decode(Bool.self) {
                value = .bool(b)
            } else if let i = try? single.decode(Int64.self) {
                value = .integer(i)
            } else if let d = try? single.decode(Double.self) {
                value = .number(d)
            } else {
                value = .string(try single.decode(String.self))
            }
        }
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
