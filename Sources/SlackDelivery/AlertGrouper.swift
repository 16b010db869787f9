import Contracts

/// Holds alerts for a short group wait, so that alerts raised together for one account and one
/// destination leave as one message (Alertmanager's `group_wait`). Pure: the wall clock comes in
/// as `now`; nothing here sleeps or reads a clock.
///
/// ```swift
/// var grouper = AlertGrouper(groupWaitMs: 2_000)
/// send(grouper.add(alert, now: wallNow))        // a digest (or a zero wait) leaves at once
/// ...                                            // on the timer, at grouper.nextDue:
/// send(grouper.takeDue(now: wallNow))            // render each with renderer.render(group)
/// ```
///
/// An alert joins a waiting group for the same account and destination when its grouping time
/// (`notBefore`, else `raisedAt`: event time) is within the group wait of the group's first alert,
/// so a replayed backlog is not merged across days, and the group is not full. A group leaves
/// `groupWaitMs` after its first alert arrived. The grouper is not durable: the caller completes an
/// alert's input offset only when its group has been delivered, so a restart re-reads it.
public struct AlertGrouper: Sendable {
    /// Most alerts in one message unless told otherwise (one evaluation raises at most one per rule).
    public static let defaultMaxAlertsPerGroup = 8

    /// How long the first alert of a group waits for others, in milliseconds (0: no wait).
    public let groupWaitMs: Int64
    /// Most alerts per group; a full group keeps waiting, a further alert opens a new one.
    public let maxAlertsPerGroup: Int

    struct Waiting: Sendable {
        var members: [AlertRecord]
        var dueAt: Int64
    }

    private var waiting: [Waiting] = []

    public init(groupWaitMs: Int64 = 2_000, maxAlertsPerGroup: Int = AlertGrouper.defaultMaxAlertsPerGroup) {
        self.groupWaitMs = max(0, groupWaitMs)
        self.maxAlertsPerGroup = max(1, maxAlertsPerGroup)
    }

    /// Adds an alert that arrived at `now` (wall clock) and returns the groups that leave at once:
    /// a digest, or any alert when the group wait is 0.
    public mutating func add(_ alert: AlertRecord, now: Timestamp) -> [AlertGroup] {
        if alert.type == .digest || groupWaitMs == 0 {
            return [AlertGroup(checked: [alert])]
        }
        if let i = waiting.firstIndex(where: {
            AlertGroup.joins(alert, $0.members, windowMs: groupWaitMs, maxAlerts: maxAlertsPerGroup)
        }) {
            waiting[i].members.append(alert)
        } else {
            waiting.append(Waiting(members: [alert], dueAt: now.millisecondsSinceEpoch + groupWaitMs))
        }
        return []
    }

    /// Removes and returns the groups whose wait is over at `now`, oldest first.
    public mutating func takeDue(now: Timestamp) -> [AlertGroup] {
        let t = now.millisecondsSinceEpoch
        guard waiting.contains(where: { $0.dueAt <= t }) else { return [] }
        let due = waiting.filter { $0.dueAt <= t }
        waiting.removeAll { $0.dueAt <= t }
        return due.map { AlertGroup(checked: $0.members) }
    }

    /// Removes and returns every waiting group (on shutdown or when the partition is revoked).
    public mutating func takeAll() -> [AlertGroup] {
        defer { waiting.removeAll() }
        return waiting.map { AlertGroup(checked: $0.members) }
    }

    /// When the next group's wait is over, if any waits.
    public var nextDue: Timestamp? {
        waiting.map(\.dueAt).min().map { Timestamp(millisecondsSinceEpoch: $0) }
    }

    /// Alerts waiting in groups.
    public var waitingAlerts: Int { waiting.reduce(0) { $0 + $1.members.count } }
}
