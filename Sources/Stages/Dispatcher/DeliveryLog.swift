import Contracts
import Foundation
import Kafka
import Logging
import SlackDelivery
import Synchronization

/// The dispatcher's memory of what was delivered (per owned partition) and of what is being
/// delivered right now: checked before posting, so an alert read again (a restart, a rebalance, a
/// re-published record) is not posted twice. Filled from `alerts-delivered` when a partition is
/// assigned, and on every delivery. Shared by the worker thread and the delivery engine's thread.
///
/// Bounded like the topic: an entry older than `horizonMilliseconds` (the dedup horizon, the log's
/// `retention.ms` of 30 days) is forgotten by `prune`, as the broker deletes it from the topic, so
/// a long-lived dispatcher's memory does not grow with everything it ever delivered.
public final class DeliveryLog: Sendable {
    private struct Memory {
        /// Per partition: key -> wall ms of the delivery, as read from `alerts-delivered` at the
        /// partition's assignment.
        var logged: [Int32: [String: Int64]] = [:]
        /// Per partition: the keys this process delivered itself (Slack answered 2xx), with when.
        /// Kept when the partition goes away: its log writes may still be on their way when it
        /// comes back (a broker outage longer than the session: partitions lost and assigned again
        /// while the writes wait in the producer), and reading the log alone would post them again.
        var deliveredHere: [Int32: [String: Int64]] = [:]
        /// Keys being delivered now, each with its assignment's cancellation (cancelled once that
        /// assignment of its partition is revoked: its post may still be finishing).
        var inFlight: [String: DeliveryCancellation] = [:]
        /// Per partition: keys in doubt (an intent to post without a delivery), with the wall ms
        /// the post was about to start: from the log at assignment, or marked by this process
        /// after an answer that leaves it open (timeout, 5xx).
        var inDoubt: [Int32: [String: Int64]] = [:]
        /// Per partition: where the delivered key's message is (Slack app destinations), for
        /// edits and thread replies; from the log at assignment and from every delivery here.
        var messages: [Int32: [String: PostedMessage]] = [:]
    }

    private let memory = Mutex(Memory())
    /// How long a delivery is remembered (the delivery log's retention).
    public let horizonMilliseconds: Int64

    /// The dedup horizon of `topics/topics.yaml`: `alerts-delivered` keeps 30 days.
    public static let defaultHorizonMilliseconds: Int64 = 30 * 86_400_000

    public init(horizonMilliseconds: Int64 = DeliveryLog.defaultHorizonMilliseconds) {
        self.horizonMilliseconds = horizonMilliseconds
    }

    /// Replaces what is known of `partition` with the keys read from its log, each with the wall
    /// ms it was logged at.
    /// What this process delivered itself is kept.
    public func load(partition: Int32, entries: [String: Int64]) {
        memory.withLock { $0.logged[partition] = entries }
    }

    /// Replaces what is known of `partition` with what its log says: delivered keys and keys in
    /// doubt. What this process delivered itself is kept (and is never in doubt).
    public func load(partition: Int32, snapshot: DeliveryLogSnapshot) {
        memory.withLock { m in
            m.logged[partition] = snapshot.delivered
            let here = m.deliveredHere[partition] ?? [:]
            m.inDoubt[partition] = snapshot.inDoubt.filter { here[$0.key] == nil }
            let kept = (m.messages[partition] ?? [:]).filter { here[$0.key] != nil }
            m.messages[partition] = snapshot.messages.merging(kept) { _, mine in mine }
        }
    }

    /// When the post of `key` that left it in doubt was about to start (wall ms), nil if it is not
    /// in doubt.
    public func inDoubtSince(_ key: String, partition: Int32) -> Int64? {
        memory.withLock { $0.inDoubt[partition]?[key] }
    }

    /// Keys in doubt in `partition`.
    public func inDoubtCount(partition: Int32) -> Int {
        memory.withLock { $0.inDoubt[partition]?.count ?? 0 }
    }

    /// Marks `keys` in doubt since `since` (wall ms; an earlier mark is kept).
    func markInDoubt(_ keys: [String], partition: Int32, since: Int64) {
        memory.withLock { m in
            for k in keys { m.inDoubt[partition, default: [:]][k] = min(m.inDoubt[partition]?[k] ?? since, since) }
        }
    }

    /// No longer in doubt (looked up and not found, or posted again knowingly).
    func clearInDoubt(_ keys: [String], partition: Int32) {
        memory.withLock { m in for k in keys { m.inDoubt[partition]?[k] = nil } }
    }

    /// Forgets deliveries logged before `now` minus the horizon; returns how many were forgotten.
    @discardableResult
    public func prune(now: Int64) -> Int {
        let cutoff = now - horizonMilliseconds
        return memory.withLock { m in
            var forgotten = 0
            for (p, entries) in m.logged {
                let kept = entries.filter { $0.value >= cutoff }
                forgotten += entries.count - kept.count
                if kept.count != entries.count { m.logged[p] = kept }
            }
            for (p, entries) in m.deliveredHere {
                let kept = entries.filter { $0.value >= cutoff }
                if kept.count != entries.count { m.deliveredHere[p] = kept }
            }
            for (p, entries) in m.inDoubt {
                let kept = entries.filter { $0.value >= cutoff }
                if kept.count != entries.count { m.inDoubt[p] = kept }
            }
            for (p, entries) in m.messages {
                let logged = m.logged[p] ?? [:]
                let here = m.deliveredHere[p] ?? [:]
                let kept = entries.filter { logged[$0.key] != nil || here[$0.key] != nil }
                if kept.count != entries.count { m.messages[p] = kept }
            }
            return forgotten
        }
    }

    /// Forgets a partition given away.
    public func drop(partition: Int32) {
        memory.withLock {
            $0.logged[partition] = nil
            $0.inDoubt[partition] = nil
            let here = $0.deliveredHere[partition] ?? [:]
            $0.messages[partition] = $0.messages[partition]?.filter { here[$0.key] != nil }
        }
    }

    /// Where the message of delivered key `key` is, if it went to a Slack app channel.
    public func message(of key: String, partition: Int32) -> PostedMessage? {
        memory.withLock { $0.messages[partition]?[key] }
    }

    /// Whether `key` (`alert_id|destination`) was delivered.
    public func isDelivered(_ key: String, partition: Int32) -> Bool {
        memory.withLock { $0.logged[partition]?[key] != nil || $0.deliveredHere[partition]?[key] != nil }
    }

    /// Whose delivery of a key is under way.
    public enum InFlight: Sendable, Hashable {
        /// This assignment of the partition's: the alert read again is a duplicate.
        case thisAssignment
        /// An earlier assignment's, revoked since: its post may still be finishing (delivered, then
        /// logged here, or handed back). Wait for it rather than skip or post.
        case earlierAssignment
    }

    /// Whether `key` is being delivered now (waiting in a group, posted without an answer yet, or
    /// looked up in its channel), and by which assignment.
    public func inFlight(_ key: String) -> InFlight? {
        memory.withLock { m in m.inFlight[key].map { $0.isCancelled ? .earlierAssignment : .thisAssignment } }
    }

    func start(_ key: String, owner: DeliveryCancellation) { memory.withLock { $0.inFlight[key] = owner } }

    func end(_ keys: [String]) { memory.withLock { m in for k in keys { m.inFlight[k] = nil } } }

    func delivered(_ keys: [String], partition: Int32, at now: Int64, message: PostedMessage? = nil) {
        memory.withLock { m in
            for k in keys {
                m.inFlight[k] = nil
                m.deliveredHere[partition, default: [:]][k] = now
                m.inDoubt[partition]?[k] = nil
                if let message { m.messages[partition, default: [:]][k] = message }
            }
        }
    }

    /// Keys known as delivered in `partition`.
    public func count(partition: Int32) -> Int {
        memory.withLock {
            Set(($0.logged[partition] ?? [:]).keys).union(($0.deliveredHere[partition] ?? [:]).keys).count
        }
    }
}

/// Reads one partition of the delivery log from its start to its end (a tombstone removes its key).
public enum DeliveryLogReader {
    /// What `partition` of `topic` says, read to its end: the keys delivered (each with its
    /// record's timestamp, wall ms; now when the record has none) and the keys in doubt (an intent
    /// to post is their last value); fails after `timeout` without reaching the end.
    public static func readSnapshot(
        topic: String, partition: Int32, configuration: KafkaConfiguration, logger: Logger,
        timeout: Duration = .seconds(30), clock: WallClock = .system
    ) throws(KafkaError) -> DeliveryLogSnapshot {
        let now = clock.milliseconds()
        var config = configuration
        config["group.id"] = nil
        config["enable.auto.commit"] = "false"
        let consumer = try KafkaConsumer(configuration: config, name: "delivery-log-reader", logger: logger)
        defer { consumer.close() }
        let tp = TopicPartition(topic, partition)
        let (low, high) = try consumer.watermarks(tp)
        guard high > low else { return DeliveryLogSnapshot() }
        try consumer.assign([tp: KafkaOffset.beginning])
        var snapshot = DeliveryLogSnapshot()
        let deadline = ContinuousClock.now + timeout
        var next = low
        while next < high {
            guard ContinuousClock.now < deadline else {
                throw KafkaError(
                    kind: .retriable,
                    message: "delivery log \(tp) read only to offset \(next) of \(high) within \(timeout)")
            }
            for record in try consumer.poll(max: 1000, timeout: .milliseconds(100)) {
                next = max(next, record.offset + 1)
                guard let key = record.keyString else { continue }
                snapshot.apply(key: key, value: record.value, timestamp: record.timestamp ?? now)
            }
        }
        return snapshot
    }
}
