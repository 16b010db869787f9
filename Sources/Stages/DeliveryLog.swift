import Contracts
import Foundation
import Kafka
import Logging
import Synchronization

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

    public init(alertId: String, destination: String, accountId: String, type: String, deliveredAt: Timestamp, status: Int, retries: Int, messageAlertIds: [String]) {
        self.alertId = alertId
        self.destination = destination
        self.accountId = accountId
        self.type = type
        self.deliveredAt = deliveredAt
        self.status = status
        self.retries = retries
        self.messageAlertIds = messageAlertIds
    }

    enum CodingKeys: String, CodingKey {
        case alertId = "alert_id", destination, accountId = "account_id", type, deliveredAt = "delivered_at", status, retries
        case messageAlertIds = "message_alert_ids"
    }
}

/// The dispatcher's memory of what was delivered (per owned partition) and of what is being
/// delivered right now: checked before posting, so an alert read again (a restart, a rebalance, a
/// re-published record) is not posted twice. Filled from `alerts-delivered` when a partition is
/// assigned, and on every delivery. Shared by the worker thread and the delivery engine's thread.
public final class DeliveryLog: Sendable {
    private struct Memory {
        /// Per partition: the keys read from `alerts-delivered` at its assignment.
        var logged: [Int32: Set<String>] = [:]
        /// Per partition: the keys this process delivered itself (Slack answered 2xx). Kept when
        /// the partition goes away: its log writes may still be on their way when it comes back
        /// (a broker outage longer than the session: partitions lost and assigned again while the
        /// writes wait in the producer), and reading the log alone would post them again.
        var deliveredHere: [Int32: Set<String>] = [:]
        var inFlight: Set<String> = []
    }

    private let memory = Mutex(Memory())

    public init() {}

    /// Replaces what is known from the log of `partition` with the keys read from it (what this
    /// process delivered itself is kept).
    public func load(partition: Int32, keys: Set<String>) {
        memory.withLock { $0.logged[partition] = keys }
    }

    /// Forgets the log of a partition given away (not what this process delivered itself).
    public func drop(partition: Int32) {
        memory.withLock { $0.logged[partition] = nil }
    }

    /// Whether `key` (`alert_id|destination`) was delivered.
    public func isDelivered(_ key: String, partition: Int32) -> Bool {
        memory.withLock { ($0.logged[partition]?.contains(key) ?? false) || ($0.deliveredHere[partition]?.contains(key) ?? false) }
    }

    /// Whether `key` is being delivered now (waiting in a group or posted without an answer yet).
    public func isInFlight(_ key: String) -> Bool {
        memory.withLock { $0.inFlight.contains(key) }
    }

    func start(_ key: String) { memory.withLock { _ = $0.inFlight.insert(key) } }

    func end(_ keys: [String]) { memory.withLock { m in for k in keys { m.inFlight.remove(k) } } }

    func delivered(_ keys: [String], partition: Int32) {
        memory.withLock { m in
            for k in keys {
                m.inFlight.remove(k)
                m.deliveredHere[partition, default: []].insert(k)
            }
        }
    }

    /// Keys known as delivered in `partition`.
    public func count(partition: Int32) -> Int {
        memory.withLock { ($0.logged[partition] ?? []).union($0.deliveredHere[partition] ?? []).count }
    }
}

/// Reads one partition of the delivery log from its start to its end (a tombstone removes its key).
public enum DeliveryLogReader {
    /// The keys logged in `partition` of `topic`; fails after `timeout` without reaching the end.
    public static func read(topic: String, partition: Int32, configuration: KafkaConfiguration, logger: Logger,
                            timeout: Duration = .seconds(30)) throws(KafkaError) -> Set<String> {
        var config = configuration
        config["group.id"] = nil
        config["enable.auto.commit"] = "false"
        let consumer = try KafkaConsumer(configuration: config, name: "delivery-log-reader", logger: logger)
        defer { consumer.close() }
        let tp = TopicPartition(topic, partition)
        let (low, high) = try consumer.watermarks(tp)
        guard high > low else { return [] }
        try consumer.assign([tp: KafkaOffset.beginning])
        var keys = Set<String>()
        let deadline = ContinuousClock.now + timeout
        var next = low
        while next < high {
            guard ContinuousClock.now < deadline else {
                throw KafkaError(kind: .retriable, message: "delivery log \(tp) read only to offset \(next) of \(high) within \(timeout)")
            }
            for record in try consumer.poll(max: 1000, timeout: .milliseconds(100)) {
                next = max(next, record.offset + 1)
                guard let key = record.keyString else { continue }
                if record.value == nil { keys.remove(key) } else { keys.insert(key) }
            }
        }
        return keys
    }
}
