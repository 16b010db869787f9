/// A person's verdict on an alert, from the signed "Useful" / "Not useful" links in its message.
public enum FeedbackVerdict: String, Codable, Sendable, CaseIterable {
    case useful
    case notUseful = "not_useful"
}

/// An `alert-feedback` record (key = alert_id): who said what about which alert, when. With outcome
/// events (`account_churned`, `account_renewed`) it feeds the per-rule precision report.
///
/// Written only for a link whose signature, expiry and freshness were checked: the alert id, rule
/// and destination are the ones the link was signed for.
public struct FeedbackRecord: Codable, Sendable, Hashable {
    /// Version of this contract.
    public var schema: Int
    /// The alert the verdict is about (the record's key).
    public var alertId: String
    /// The rule that raised the alert.
    public var rule: String
    /// The destination (channel) whose message carried the link.
    public var destination: String
    /// Useful or not useful.
    public var verdict: FeedbackVerdict
    /// When the verdict was given (the click).
    public var recordedAt: Timestamp

    /// The version written now.
    public static let currentSchema = 1

    /// A record from its fields.
    public init(schema: Int = FeedbackRecord.currentSchema, alertId: String, rule: String, destination: String, verdict: FeedbackVerdict, recordedAt: Timestamp) {
        self.schema = schema
        self.alertId = alertId
        self.rule = rule
        self.destination = destination
        self.verdict = verdict
        self.recordedAt = recordedAt
    }

    enum CodingKeys: String, CodingKey {
        case schema, alertId = "alert_id", rule, destination, verdict, recordedAt = "recorded_at"
    }
}
