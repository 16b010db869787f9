import HealthModel

/// What one input record became.
public enum NormalisedRecord: Sendable, Hashable {
    /// A native account event (JSON bytes the native parser accepts) and the account it belongs to.
    case event(accountId: String, value: [UInt8])
    /// Nothing to score: a Debezium tombstone, a record no mapping matches (with `unmatched: skip`),
    /// a Segment call of a kind not mapped. The text says which.
    case skipped(String)
}

/// Turns the records of one input topic into native account events. Pure and deterministic: the
/// same bytes always give the same event (so a re-read after a crash is deduplicated by its
/// `event_id`). Nothing in a record is trusted: sizes, depth, kinds and ranges are checked, and
/// the event made is validated by the native `EventParser` before it leaves.
public struct InputNormaliser: Sendable {
    public let spec: InputSpec
    public let parser: EventParser

    public init(spec: InputSpec, parser: EventParser = EventParser()) {
        self.spec = spec
        self.parser = parser
    }

    /// The event of `value` (a Kafka record's value; nil for a tombstone), or why there is none.
    public func normalise(_ value: [UInt8]?) throws(InputRejection) -> NormalisedRecord {
        guard let value, !value.isEmpty else {
            if spec.format == .debezium { return .skipped("tombstone") }
            throw InputRejection(code: "empty", reason: "record has no value")
        }
        if spec.format == .native { return try validated(value, rule: nil) }
        guard value.count <= parser.maxPayloadBytes else {
            throw InputRejection(code: "too_large", reason: "payload over \(parser.maxPayloadBytes) bytes")
        }
        guard var document = JSONValue.parse(value, maxDepth: parser.maxDepth) else {
            throw InputRejection(
                code: "not_json", reason: "not a JSON document (or nested deeper than \(parser.maxDepth))")
        }
        if spec.format == .debezium {
            guard let payload = try Self.debeziumPayload(document) else { return .skipped("tombstone") }
            document = payload
        }
        guard case .object = document else {
            throw InputRejection(code: "not_an_object", reason: "expected a JSON object, found \(document.kindName)")
        }
        guard let rule = spec.rules.first(where: { $0.matches(document) }) else {
            let what = Self.describe(document, format: spec.format)
            switch spec.unmatched {
            case .skip: return .skipped("no mapping matches \(what)")
            case .deadLetter:
                throw InputRejection(code: "no_mapping", reason: "no mapping of \(spec.topic) matches \(what)")
            }
        }
        let built = try EventBuilder.build(rule, from: document)
        return try validated(built.value, rule: rule)
    }

    /// The native parser's verdict on an event, as a rejection naming the mapping that made it.
    func validated(_ bytes: [UInt8], rule: InputRule?) throws(InputRejection) -> NormalisedRecord {
        do {
            let event = try parser.parse(bytes)
            return .event(accountId: event.accountId, value: bytes)
        } catch {
            let path = error.reason.split(separator: ":", maxSplits: 1).first.map(String.init)
            let suffix = rule.map { " (made by the mapping \"\($0.name)\")" } ?? ""
            throw InputRejection(code: error.code.rawValue, path: nil, reason: error.reason + suffix)
                .withPath(path.flatMap { $0.contains(" ") ? nil : $0 })
        }
    }

    /// The envelope's change event: `payload` under the schema wrapper, the object itself without
    /// it; nil for a null payload (a tombstone written with the wrapper).
    static func debeziumPayload(_ document: JSONValue) throws(InputRejection) -> JSONValue? {
        guard case .object(let members) = document else {
            throw InputRejection(code: "not_an_envelope", reason: "expected a Debezium change event object")
        }
        var envelope = document
        if members["op"] == nil, let payload = members["payload"], members["schema"] != nil {
            if payload == .null { return nil }
            envelope = payload
        }
        guard case .object(let change) = envelope else {
            throw InputRejection(code: "not_an_envelope", path: "payload", reason: "expected an object")
        }
        guard case .string(let op) = change["op"] ?? .null else {
            throw InputRejection(code: "not_an_envelope", path: "op", reason: "missing: not a Debezium change event")
        }
        guard ["c", "u", "d", "r", "t", "m"].contains(op) else {
            throw InputRejection(code: "not_an_envelope", path: "op", reason: "not one of c, u, d, r, t, m")
        }
        return envelope
    }

    /// What kind of record it was, in words safe to log (fixed names, never free text of the record).
    static func describe(_ document: JSONValue, format: InputFormat) -> String {
        switch format {
        case .debezium:
            let op = document.value(at: FieldPath(keys: ["op"]))?.scalarText ?? "?"
            return "op \(op.prefix(1)) of a table"
        case .segment:
            let type = document.value(at: FieldPath(keys: ["type"]))?.scalarText ?? "?"
            return "a Segment \(type.prefix(16)) call"
        case .native, .mapping:
            return "the record"
        }
    }
}

extension InputRejection {
    func withPath(_ path: String?) -> InputRejection {
        var copy = self
        copy.path = path
        return copy
    }
}
