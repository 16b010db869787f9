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
///
/// `link_id` and `link_expires_at` name the link that was clicked (a digest of its signed fields,
/// not its signature, so the topic holds no usable link) and when it stops working. Every
/// dispatcher replica reads them back from `alert-feedback` to refuse a replay of the same link on
/// any replica or after a restart. Both are optional: records written before they existed decode
/// without them (and simply guard nothing). Consumers count one verdict per link: two records with
/// the same `link_id` (two replicas accepting the same link within milliseconds of each other, the
/// one race the shared guard leaves open) are the same verdict, and `PrecisionReport` counts it once.
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
    /// The identity of the link clicked (`FeedbackLink.id`); nil in records from before it existed.
    public var linkId: String?
    /// When that link expires (it is refused from then on, so it need not be remembered longer).
    public var linkExpiresAt: Timestamp?

    /// The version written now.
    public static let currentSchema = 1

    /// A record from its fields.
    public init(
        schema: Int = FeedbackRecord.currentSchema, alertId: String, rule: String, destination: String,
        verdict: FeedbackVerdict, recordedAt: Timestamp,
        linkId: String? = nil, linkExpiresAt: Timestamp? = nil
    ) {
        self.schema = schema
        self.alertId = alertId
        self.rule = rule
        self.destination = destination
        self.verdict = verdict
        self.recordedAt = recordedAt
        self.linkId = linkId
        self.linkExpiresAt = linkExpiresAt
    }

    enum CodingKeys: String, CodingKey {
        case schema
        case alertId = "alert_id"
        case rule, destination, verdict
        case recordedAt = "recorded_at"
        case linkId = "link_id"
        case linkExpiresAt = "link_expires_at"
    }
}
