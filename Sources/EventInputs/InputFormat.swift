/// How the records of an input topic are written.
public enum InputFormat: String, Sendable, Hashable, CaseIterable {
    /// Account events as `docs/events.md` defines them: validated and re-keyed by account id.
    case native
    /// Debezium change events (`before`/`after`/`op`/`source`/`ts_ms`, with or without the
    /// `schema`/`payload` wrapper); tombstones are skipped; a mapping per table and operation.
    case debezium
    /// Segment calls (`track`, `identify`, `group`): the group id (or a configured path) as the
    /// account, `messageId` as the event id, event names mapped to types.
    case segment
    /// Any JSON: mappings by field paths and constants (Stripe events, Zendesk tickets, ...).
    case mapping
}

/// What happens to a record that no mapping of its input matches.
public enum UnmatchedRecords: String, Sendable, Hashable, CaseIterable {
    /// Counted as skipped and committed (a Stripe topic carries many event types the fleet ignores).
    case skip
    /// Sent to the dead-letter topic with code `no_mapping`.
    case deadLetter = "dead_letter"
}

/// One input topic of the inputs file.
public struct InputSpec: Sendable, Hashable {
    /// The topic name as configured (`TOPIC_PREFIX` is not put before it: input topics belong to
    /// their producers).
    public var topic: String
    public var format: InputFormat
    /// The mappings, tried in order; the first that matches makes the event (empty for `native`).
    public var rules: [InputRule]
    public var unmatched: UnmatchedRecords
    /// The inputs file line the input starts on.
    public var line: Int?

    public init(
        topic: String, format: InputFormat, rules: [InputRule] = [], unmatched: UnmatchedRecords = .skip,
        line: Int? = nil
    ) {
        self.topic = topic
        self.format = format
        self.rules = rules
        self.unmatched = unmatched
        self.line = line
    }
}
