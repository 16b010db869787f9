import Contracts

/// Writes the native account event (`docs/events.md`) a rule makes of an input document. Pure; it
/// checks kinds and forms the mapping promises (a time is a time, an integer an integer), and
/// leaves the event's ranges to the native parser the scorer runs on the result.
public enum EventBuilder {
    /// The newest time a numeric `occurred_at` may give (9999-12-31T23:59:59.999Z).
    static let maxMilliseconds: Int64 = 253_402_300_799_999

    /// The account id and the event's JSON bytes. Throws the path and what was wrong when a
    /// required field is missing or a value is of the wrong kind.
    public static func build(_ rule: InputRule, from document: JSONValue) throws(InputRejection)
        -> (accountId: String, value: [UInt8])
    {
        var out: [UInt8] = Array("{\"type\":".utf8)
        JSONText.appendQuoted(rule.type, to: &out)
        var accountId = ""
        for name in ["event_id", "account_id", "occurred_at", "user_id"] {
            guard let source = rule.fields[name], let kind = EventFields.topLevel[name] else {
                if EventFields.required.contains(name) {
                    throw InputRejection(
                        code: "mapping_missing_field", path: name,
                        reason: "the mapping \"\(rule.name)\" sets no \(name)")
                }
                continue
            }
            guard let value = try resolve(source, in: document, rule: rule, field: name) else {
                if EventFields.required.contains(name) {
                    throw InputRejection(
                        code: "mapping_missing_field", path: source.paths.first?.description ?? name,
                        reason: "missing or null (\(name) of the mapping \"\(rule.name)\")")
                }
                continue
            }
            let written = try convert(value, to: kind, source: source, rule: rule, field: name)
            if name == "account_id", case .string(let text) = written { accountId = text }
            out.append(UInt8(ascii: ","))
            JSONText.appendQuoted(name, to: &out)
            out.append(UInt8(ascii: ":"))
            append(written, to: &out)
        }
        if !rule.properties.isEmpty {
            out.append(contentsOf: ",\"properties\":{".utf8)
            var first = true
            for name in rule.properties.keys.sorted() {
                guard let source = rule.properties[name], let kind = EventFields.properties[name] else { continue }
                // An optional source field that is absent (a ticket without priority) is left out.
                guard let value = try resolve(source, in: document, rule: rule, field: "properties.\(name)") else {
                    continue
                }
                let written = try convert(value, to: kind, source: source, rule: rule, field: "properties.\(name)")
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                JSONText.appendQuoted(name, to: &out)
                out.append(UInt8(ascii: ":"))
                append(written, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "}"))
        return (accountId, out)
    }

    /// The raw value of `source` in `document`, after its table; nil when absent or null.
    static func resolve(_ source: ValueSource, in document: JSONValue, rule: InputRule, field: String)
        throws(InputRejection) -> JSONValue?
    {
        var value: JSONValue
        switch source.origin {
        case .constant(let constant):
            value = constant
        case .path(let path):
            guard let found = document.value(at: path), found != .null else { return nil }
            value = found
        case .template(let parts):
            var text = ""
            for part in parts {
                switch part {
                case .text(let literal): text += literal
                case .path(let path):
                    guard let found = document.value(at: path), let piece = found.scalarText else {
                        throw InputRejection(
                            code: "mapping_missing_field", path: path.description,
                            reason: "missing, null or not a scalar (\(field) of the mapping \"\(rule.name)\")")
                    }
                    text += piece
                }
            }
            value = .string(text)
        }
        if let table = source.table, let key = value.scalarText, let replacement = table[key] { value = replacement }
        return value == .null ? nil : value
    }

    static func convert(
        _ value: JSONValue, to kind: EventFields.Kind, source: ValueSource, rule: InputRule, field: String
    )
        throws(InputRejection) -> JSONValue
    {
        let path = source.paths.first?.description ?? field
        func wrong(_ expected: String) -> InputRejection {
            InputRejection(
                code: "mapping_wrong_type", path: path,
                reason: "expected \(expected), found \(value.kindName) (\(field) of the mapping \"\(rule.name)\")")
        }
        func bad(_ what: String) -> InputRejection {
            InputRejection(
                code: "mapping_bad_value", path: path, reason: "\(what) (\(field) of the mapping \"\(rule.name)\")")
        }
        switch kind {
        case .string:
            guard case .string = value else {
                guard let text = value.scalarText, source.scale == nil else { throw wrong("text or a number") }
                return .string(text)
            }
            return value
        case .boolean:
            switch value {
            case .bool: return value
            case .string("true"): return .bool(true)
            case .string("false"): return .bool(false)
            default: throw wrong("a boolean")
            }
        case .number, .integer:
            let number: Double
            switch value {
            case .integer(let i):
                guard source.scale != nil || kind == .number else { return value }
                number = Double(i)
            case .number(let d): number = d
            case .string(let s):
                guard let d = Double(s) else { throw wrong("a number") }
                number = d
            default: throw wrong("a number")
            }
            let scaled = Self.scale(number, by: source.scale ?? 1)
            guard scaled.isFinite else { throw bad("not a finite number") }
            guard kind == .integer else { return .number(scaled) }
            guard scaled == scaled.rounded(), abs(scaled) < 9.0e15 else { throw bad("not a whole number") }
            return .integer(Int64(scaled))
        case .time:
            switch value {
            case .string: return value
            case .integer, .number:
                let raw: Double = if case .integer(let i) = value { Double(i) } else { value.doubleValue ?? .nan }
                let perMillisecond: Double =
                    switch source.unit ?? .seconds {
                    case .seconds: 1000
                    case .milliseconds: 1
                    case .microseconds: 0.001
                    }
                let ms = (raw * perMillisecond).rounded(.down)
                guard ms.isFinite, ms >= 0, ms <= Double(maxMilliseconds) else {
                    throw bad("not a time between 1970 and 9999 in \(source.unit ?? .seconds)")
                }
                return .string(Timestamp(millisecondsSinceEpoch: Int64(ms)).rfc3339)
            default: throw wrong("RFC 3339 text or a number since the epoch")
            }
        }
    }

    static func append(_ value: JSONValue, to out: inout [UInt8]) {
        switch value {
        case .string(let s): JSONText.appendQuoted(s, to: &out)
        case .integer(let i): out.append(contentsOf: String(i).utf8)
        case .number(let d): out.append(contentsOf: (d.isFinite ? String(d) : "null").utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .null, .array, .object: out.append(contentsOf: "null".utf8)
        }
    }

    /// `number * scale`, divided by the whole reciprocal when `scale` is one (0.01 is 1/100): cents
    /// become 19.99, not the 19.990000000000002 that multiplying by the inexact 0.01 gives.
    static func scale(_ number: Double, by scale: Double) -> Double {
        let reciprocal = 1 / scale
        let whole = reciprocal.rounded()
        guard scale != 0, abs(scale) < 1, whole != 0, abs(reciprocal - whole) <= 1e-9 * abs(whole) else {
            return number * scale
        }
        return number / whole
    }
}

extension JSONValue {
    var doubleValue: Double? {
        switch self {
        case .integer(let i): Double(i)
        case .number(let d): d
        default: nil
        }
    }
}
