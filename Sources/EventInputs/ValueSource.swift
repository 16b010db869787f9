/// Where one field of a normalised event comes from: a field of the input record, a constant, or a
/// template joining several fields (`"zd-{ticket.id}-{ticket.updated_at}"`), with optional
/// conversions: a time unit for numeric times, a scale (`0.01`: cents to currency units) and a
/// table of values (`urgent: high`).
public struct ValueSource: Sendable, Hashable {
    /// What the value is read from.
    public enum Origin: Sendable, Hashable {
        case path(FieldPath)
        case constant(JSONValue)
        /// Literal text and paths, in order.
        case template([TemplatePart])
    }

    /// One piece of a template.
    public enum TemplatePart: Sendable, Hashable {
        case text(String)
        case path(FieldPath)
    }

    /// The unit of a numeric time.
    public enum TimeUnit: String, Sendable, Hashable, CaseIterable {
        case seconds = "s"
        case milliseconds = "ms"
        case microseconds = "us"
    }

    public var origin: Origin
    /// For `occurred_at` given as a number: its unit (default seconds).
    public var unit: TimeUnit?
    /// Multiplies a numeric value (Stripe's cents: 0.01).
    public var scale: Double?
    /// Replaces a value found in the table by its entry (matched on the value's text).
    public var table: [String: JSONValue]?

    public init(
        _ origin: Origin, unit: TimeUnit? = nil, scale: Double? = nil, table: [String: JSONValue]? = nil
    ) {
        self.origin = origin
        self.unit = unit
        self.scale = scale
        self.table = table
    }

    /// Every path the source reads (for messages).
    public var paths: [FieldPath] {
        switch origin {
        case .path(let p): [p]
        case .constant: []
        case .template(let parts):
            parts.compactMap {
                if case .path(let p) = $0 { return p }
                return nil
            }
        }
    }

    /// Parses a template: `{path}` pieces between literal text. Nil when a brace is unbalanced or
    /// a path inside is malformed.
    public static func template(_ text: String) -> [TemplatePart]? {
        var parts: [TemplatePart] = []
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{") {
            if open > rest.startIndex { parts.append(.text(String(rest[..<open]))) }
            guard let close = rest[open...].firstIndex(of: "}"),
                let path = FieldPath(String(rest[rest.index(after: open)..<close]))
            else { return nil }
            parts.append(.path(path))
            rest = rest[rest.index(after: close)...]
        }
        guard !rest.contains("}") else { return nil }
        if !rest.isEmpty { parts.append(.text(String(rest))) }
        return parts
    }
}
