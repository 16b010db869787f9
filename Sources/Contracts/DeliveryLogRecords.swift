import Foundation

/// One line of the delivery log `alerts-delivered` (compacted; key `alert_id|destination`, the
/// partition number of the alert it logs): what was posted, where, when, and Slack's answer.
public struct DeliveryLogEntry: Codable, Sendable, Hashable {
    public var alertId: String
    public var destination: String
    public var accountId: String
    public var type: String
    /// Wall-clock time of Slack's answer.
    public var deliveredAt: Timestamp
    /// The HTTP status Slack answered with.
    public var status: Int
    /// Delivery attempts before this one (0: delivered at the first try).
    public var retries: Int
    /// Every alert id the message carried (alerts grouped into one message).
    public var messageAlertIds: [String]
    /// True when the alert was in doubt (an intent without a delivery after a crash) and found
    /// already posted in its Slack app channel (`conversations.history`): logged, not posted again.
    /// Absent in entries of a normal post.
    public var reconciled: Bool?
    /// For a message posted to a Slack app channel: the channel id and the message's `ts`, which
    /// later edits (`chat.update`) and thread replies name. Absent for webhooks and in entries
    /// written before they existed.
    public var channel: String?
    public var ts: String?
    /// For an alert held back by people's actions (`snoozed`, `resolved`, `silenced`): recorded,
    /// not sent (`status` 0). Absent for every message sent.
    public var suppressed: String?

    public init(
        alertId: String, destination: String, accountId: String, type: String, deliveredAt: Timestamp, status: Int,
        retries: Int, messageAlertIds: [String],
        reconciled: Bool? = nil, channel: String? = nil, ts: String? = nil, suppressed: String? = nil
    ) {
        self.suppressed = suppressed
        self.channel = channel
        self.ts = ts
        self.alertId = alertId
        self.destination = destination
        self.accountId = accountId
        self.type = type
        self.deliveredAt = deliveredAt
        self.status = status
        self.retries = retries
        self.messageAlertIds = messageAlertIds
        self.reconciled = reconciled
    }

    enum CodingKeys: String, CodingKey {
        case alertId = "alert_id"
        case destination
        case accountId = "account_id"
        case type
        case deliveredAt = "delivered_at"
        case status, retries
        case messageAlertIds = "message_alert_ids"
        case reconciled, channel, ts, suppressed
    }
}

/// A write-ahead line of the delivery log `alerts-delivered` (same key `alert_id|destination`,
/// same partition as the `DeliveryLogEntry` that follows it): the dispatcher is about to post
/// this alert. Written, and acknowledged by the broker (idempotent producer, `acks=all`), before
/// the message is posted; the delivered entry replaces it (compaction keeps the last value).
///
/// An intent that is still the last value of its key when a partition is assigned means the
/// previous owner may have posted the alert without logging it: the alert is **in doubt**. A Slack
/// app destination then looks in its channel for the message (`conversations.history`, by the
/// alert ids in the message metadata) before posting again; an incoming webhook cannot be asked,
/// so the alert is posted again (at-least-once), counted and logged.
///
/// ```json
/// {"state":"posting","alert_id":"a1","destination":"cs-escalations","account_id":"acme",
///  "type":"customer_at_risk","posting_at":"2026-11-29T21:00:00.000Z","message_alert_ids":["a1","a2"]}
/// ```
/// It has no `delivered_at` or `status`, so readers of `DeliveryLogEntry` never mistake it for a
/// delivery.
public struct DeliveryIntent: Codable, Sendable, Hashable {
    /// The `state` value of an intent.
    public static let posting = "posting"

    /// Always `posting`.
    public var state: String
    public var alertId: String
    public var destination: String
    public var accountId: String
    public var type: String
    /// Wall-clock time the post was about to start.
    public var postingAt: Timestamp
    /// Every alert id the message carries.
    public var messageAlertIds: [String]

    public init(
        alertId: String, destination: String, accountId: String, type: String, postingAt: Timestamp,
        messageAlertIds: [String]
    ) {
        self.state = Self.posting
        self.alertId = alertId
        self.destination = destination
        self.accountId = accountId
        self.type = type
        self.postingAt = postingAt
        self.messageAlertIds = messageAlertIds
    }

    enum CodingKeys: String, CodingKey {
        case state
        case alertId = "alert_id"
        case destination
        case accountId = "account_id"
        case type
        case postingAt = "posting_at"
        case messageAlertIds = "message_alert_ids"
    }
}

/// One value of the delivery log as read back: a delivery, an intent to post, or something else.
public enum DeliveryLogValue: Sendable, Hashable {
    case delivered(DeliveryLogEntry)
    case posting(DeliveryIntent)
    /// Not readable as either (kept as "delivered" by the dispatcher's memory: older writers logged
    /// only deliveries).
    case unreadable

    /// Reads a value of `alerts-delivered`.
    public static func decode(_ bytes: [UInt8]) -> DeliveryLogValue {
        if let intent = try? RecordCoding.decode(DeliveryIntent.self, from: bytes),
            intent.state == DeliveryIntent.posting
        {
            return .posting(intent)
        }
        if let entry = try? RecordCoding.decode(DeliveryLogEntry.self, from: bytes) { return .delivered(entry) }
        return .unreadable
    }
}
