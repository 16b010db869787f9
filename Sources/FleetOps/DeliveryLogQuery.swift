import Contracts
import Kafka

/// Which lines of the delivery log `fleet-admin delivery-log` shows: all filters given must hold.
public struct DeliveryLogQuery: Sendable {
    /// Only this account id.
    public var account: String?
    /// Only this destination name.
    public var destination: String?
    /// Only deliveries at or after this time.
    public var since: Timestamp?

    /// A query; nil parts take everything.
    public init(account: String? = nil, destination: String? = nil, since: Timestamp? = nil) {
        self.account = account
        self.destination = destination
        self.since = since
    }

    /// Whether `entry` passes every filter given.
    public func matches(_ entry: DeliveryLogEntry) -> Bool {
        if let account, entry.accountId != account { return false }
        if let destination, entry.destination != destination { return false }
        if let since, entry.deliveredAt < since { return false }
        return true
    }

    /// The log as a compacted topic holds it (the last value per key; a tombstone removes its key),
    /// filtered, oldest delivery first. Values that are not delivery-log entries are counted in
    /// `unreadable`, never fatal.
    public func entries(from records: [ConsumedRecord]) -> (entries: [DeliveryLogEntry], unreadable: Int) {
        var latest: [String: (offset: Int64, entry: DeliveryLogEntry?)] = [:]
        var unreadable = 0
        for record in records {
            let key = record.keyString ?? "\(record.partition)@\(record.offset)"
            guard let value = record.value else {
                latest[key] = (record.offset, nil)
                continue
            }
            switch DeliveryLogValue.decode(value) {
            case .delivered(let entry): latest[key] = (record.offset, entry)
            case .posting: latest[key] = (record.offset, nil)  // an intent: no delivery (yet) for this key
            case .unreadable: unreadable += 1
            }
        }
        let kept = latest.values.compactMap(\.entry).filter(matches)
        return (
            kept.sorted { ($0.deliveredAt, $0.destination, $0.alertId) < ($1.deliveredAt, $1.destination, $1.alertId) },
            unreadable
        )
    }

    /// The intents to post that are still the last value of their key (filtered like deliveries,
    /// by their time), oldest first: posts started and never logged as delivered, so in doubt
    /// until the dispatcher owning the partition checks (Slack app) or posts them again (webhook).
    public func inDoubt(from records: [ConsumedRecord]) -> [DeliveryIntent] {
        var latest: [String: DeliveryIntent?] = [:]
        for record in records {
            let key = record.keyString ?? "\(record.partition)@\(record.offset)"
            guard let value = record.value else {
                latest[key] = .some(nil)
                continue
            }
            switch DeliveryLogValue.decode(value) {
            case .posting(let intent): latest[key] = .some(intent)
            case .delivered: latest[key] = .some(nil)
            case .unreadable: break
            }
        }
        let kept = latest.values.compactMap { $0 }.filter { i in
            (account.map { i.accountId == $0 } ?? true) && (destination.map { i.destination == $0 } ?? true)
                && (since.map { i.postingAt >= $0 } ?? true)
        }
        return kept.sorted { ($0.postingAt, $0.destination, $0.alertId) < ($1.postingAt, $1.destination, $1.alertId) }
    }

    /// One line for an alert in doubt: when the post started, account, type, where.
    public static func line(_ i: DeliveryIntent) -> String {
        "\(i.postingAt.rfc3339)  \(i.accountId)  \(i.type)  -> \(i.destination)  posting, no delivery logged (in doubt)  alert \(i.alertId)"
    }

    /// One line for a person: when, account, type, where, Slack's answer, retries, the message's alerts.
    public static func line(_ e: DeliveryLogEntry) -> String {
        let answer = (200..<300).contains(e.status) ? "\(e.status) ok" : "\(e.status)"
        let grouped =
            e.messageAlertIds.count > 1
            ? "  (one message with \(e.messageAlertIds.count) alerts: \(e.messageAlertIds.joined(separator: ", ")))"
            : ""
        let reconciled =
            e.reconciled == true ? "  (in doubt after a crash, found in the channel: not posted again)" : ""
        return
            "\(e.deliveredAt.rfc3339)  \(e.accountId)  \(e.type)  -> \(e.destination)  Slack answered \(answer)  retries \(e.retries)  alert \(e.alertId)\(grouped)\(reconciled)"
    }
}
