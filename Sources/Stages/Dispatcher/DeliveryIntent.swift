import Contracts
import Foundation

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

    public init(alertId: String, destination: String, accountId: String, type: String, postingAt: Timestamp, messageAlertIds: [String]) {
        self.state = Self.posting
        self.alertId = alertId
        self.destination = destination
        self.accountId = accountId
        self.type = type
        self.postingAt = postingAt
        self.messageAlertIds = messageAlertIds
    }

    enum CodingKeys: String, CodingKey {
        case state, alertId = "alert_id", destination, accountId = "account_id", type, postingAt = "posting_at"
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
        if let intent = try? RecordCoding.decode(DeliveryIntent.self, from: bytes), intent.state == DeliveryIntent.posting {
            return .posting(intent)
        }
        if let entry = try? RecordCoding.decode(DeliveryLogEntry.self, from: bytes) { return .delivered(entry) }
        return .unreadable
    }
}

/// What one partition of the delivery log says at assignment: the keys delivered (with the wall
/// ms they were logged at) and the keys in doubt (an intent is their last value; with the wall ms
/// the post was about to start).
public struct DeliveryLogSnapshot: Sendable, Hashable {
    public var delivered: [String: Int64]
    public var inDoubt: [String: Int64]

    public init(delivered: [String: Int64] = [:], inDoubt: [String: Int64] = [:]) {
        self.delivered = delivered
        self.inDoubt = inDoubt
    }

    /// Applies one record of the log in offset order: the last value of a key wins; a tombstone
    /// forgets it. `timestamp` is the record's time (wall ms).
    public mutating func apply(key: String, value: [UInt8]?, timestamp: Int64) {
        guard let value else {
            delivered[key] = nil
            inDoubt[key] = nil
            return
        }
        switch DeliveryLogValue.decode(value) {
        case let .posting(intent):
            delivered[key] = nil
            inDoubt[key] = intent.postingAt.millisecondsSinceEpoch
        case .delivered, .unreadable:
            inDoubt[key] = nil
            delivered[key] = timestamp
        }
    }
}
