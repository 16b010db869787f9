import HealthModel

/// The fields of a native account event that a mapping may fill, with the JSON kind each takes
/// (the contract of `docs/events.md` and `schemas/account-event.schema.json`; kept equal to the
/// schema by `EventFieldsTests`).
public enum EventFields {
    /// The JSON kind a field is written as.
    public enum Kind: String, Sendable, Hashable {
        case string
        case integer
        case number
        case boolean
        /// `occurred_at`: RFC 3339 text, or a number of seconds/milliseconds/microseconds since the epoch.
        case time
    }

    /// Top-level fields besides `type`: `event_id`, `account_id` and `occurred_at` are required.
    public static let topLevel: [String: Kind] = [
        "event_id": .string, "account_id": .string, "occurred_at": .time, "user_id": .string,
    ]

    /// The names of the top-level fields every event needs.
    public static let required: [String] = ["event_id", "account_id", "occurred_at"]

    /// `properties.*` of every event type.
    public static let properties: [String: Kind] = [
        "feature": .string, "minutes": .number, "count": .integer, "errors": .integer, "score": .integer,
        "ticket_id": .string, "priority": .string, "sentiment": .number, "amount": .number, "currency": .string,
        "payment_id": .string, "invoice_id": .string, "seats": .integer, "name": .string, "tier": .string,
        "mrr": .number, "owner": .string, "renewal_date": .string, "timezone": .string, "url": .string,
        "status": .string, "cancellation_scheduled": .boolean,
    ]

    /// The event type names a mapping may produce (every known type; `other` is not a name one sends).
    public static let typeNames: Set<String> = Set(EventType.allCases.filter { $0 != .other }.map(\.name))
}
