/// One mapping of an inputs file: when an input record matches `conditions`, it becomes an account
/// event of `type` with its fields read by `fields` and `properties`.
public struct InputRule: Sendable, Hashable {
    /// A test on the input record; every condition of a rule must hold.
    public enum Condition: Sendable, Hashable {
        /// The value at the path, as text, is one of these.
        case oneOf(FieldPath, Set<String>)
        /// The path holds a value (not null): Stripe's `data.previous_attributes.quantity` says the
        /// quantity changed.
        case present(FieldPath)
        /// Debezium: the column's value differs between `before` and `after` (an update of it).
        case changed(String)
    }

    /// The name messages use (`stripe invoice.payment_failed`, `tickets c`).
    public var name: String
    /// The inputs file line it was written on (for messages), if known.
    public var line: Int?
    public var conditions: [Condition]
    /// The event type produced (a known type name).
    public var type: String
    /// `event_id`, `account_id`, `occurred_at`, `user_id`.
    public var fields: [String: ValueSource]
    /// `properties.*`.
    public var properties: [String: ValueSource]

    public init(
        name: String, line: Int? = nil, conditions: [Condition] = [], type: String, fields: [String: ValueSource],
        properties: [String: ValueSource] = [:]
    ) {
        self.name = name
        self.line = line
        self.conditions = conditions
        self.type = type
        self.fields = fields
        self.properties = properties
    }

    /// Whether every condition holds for `document`.
    public func matches(_ document: JSONValue) -> Bool {
        conditions.allSatisfy { condition in
            switch condition {
            case .oneOf(let path, let values):
                guard let text = document.value(at: path)?.scalarText else { return false }
                return values.contains(text)
            case .present(let path):
                guard let value = document.value(at: path) else { return false }
                return value != .null
            case .changed(let column):
                let before = document.value(at: FieldPath.key("before", column))
                let after = document.value(at: FieldPath.key("after", column))
                guard let after, after != .null else { return false }
                return before != after
            }
        }
    }
}

extension FieldPath {
    /// `first.second` for two plain keys (a column name may hold any character but a dot).
    static func key(_ first: String, _ second: String) -> FieldPath {
        FieldPath(keys: [first, second])
    }
}
