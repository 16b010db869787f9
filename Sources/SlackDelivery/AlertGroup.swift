import Contracts

/// Alerts about one account for one destination that were raised together, delivered as ONE Slack
/// message (like Alertmanager's `group_by: [account, destination]`).
///
/// The most severe alert leads (severity, then priority, then a fixed type order, then id), so it
/// gives the message its header and colour. Every alert keeps its own id: when the message is
/// delivered, each `deliveryKeys` entry is logged as delivered.
///
/// A digest (many accounts) is always a group of its own.
public struct AlertGroup: Sendable, Hashable, CustomStringConvertible {
    /// The alerts, lead first. Never empty; one account, one destination, no repeated delivery key.
    public let alerts: [AlertRecord]

    /// Groups `alerts` (any order). Throws `invalidGroup` when they are empty, name several accounts
    /// or destinations, or mix a digest with other alerts. A repeated delivery key (the same alert
    /// twice) is kept once.
    public init(_ alerts: [AlertRecord]) throws(SlackDeliveryError) {
        guard let first = alerts.first else { throw .invalidGroup(reason: "no alerts") }
        for a in alerts {
            guard a.destination == first.destination else {
                throw .invalidGroup(reason: "destinations \(first.destination) and \(a.destination) differ")
            }
            guard a.accountId == first.accountId else {
                throw .invalidGroup(reason: "accounts \(first.accountId) and \(a.accountId) differ")
            }
        }
        if alerts.count > 1, alerts.contains(where: { $0.type == .digest }) {
            throw .invalidGroup(reason: "a digest is always sent on its own")
        }
        self.init(checked: alerts)
    }

    /// The group of one alert.
    public init(single alert: AlertRecord) { self.init(checked: [alert]) }

    /// Alerts already known to be one account and destination (and no digest among others).
    init(checked alerts: [AlertRecord]) {
        var seen = Set<String>()
        let unique = alerts.filter { seen.insert($0.deliveryKey).inserted }
        self.alerts = unique.sorted(by: Self.leadsBefore)
    }

    /// Whether `a` leads `b`: more severe, then more urgent, then by type, then by id.
    static func leadsBefore(_ a: AlertRecord, _ b: AlertRecord) -> Bool {
        if a.severity != b.severity { return a.severity > b.severity }
        if a.priority != b.priority { return a.priority < b.priority }
        let ta = AlertType.allCases.firstIndex(of: a.type)!
        let tb = AlertType.allCases.firstIndex(of: b.type)!
        if ta != tb { return ta < tb }
        return a.alertId < b.alertId
    }

    /// The group of the alerts whose delivery key is in `keys` (the rest of a message once some of
    /// it is known to be delivered); nil when none is.
    public func keeping(_ keys: Set<String>) -> AlertGroup? {
        let kept = alerts.filter { keys.contains($0.deliveryKey) }
        return kept.isEmpty ? nil : AlertGroup(checked: kept)
    }

    /// The alert that leads the message (the most severe).
    public var lead: AlertRecord { alerts[0] }
    /// The destination every alert of the group goes to.
    public var destination: String { lead.destination }
    /// The account every alert of the group is about.
    public var accountId: String { lead.accountId }
    /// The worst severity in the group.
    public var severity: Severity { lead.severity }
    /// The most urgent priority in the group.
    public var priority: Priority { alerts.map(\.priority).min()! }
    /// The alert ids, lead first.
    public var alertIds: [String] { alerts.map(\.alertId) }
    /// The delivery-log keys (`alert_id|destination`) to write once the message is delivered.
    public var deliveryKeys: [String] { alerts.map(\.deliveryKey) }

    /// The time that places an alert with others: when it is to be delivered (`notBefore`, for an
    /// alert released after quiet hours) or else when it was raised.
    public static func groupingTime(of alert: AlertRecord) -> Timestamp { alert.notBefore ?? alert.raisedAt }

    /// For logs: "acme -> customer-health: customer_at_risk 1f2e..., health_score_drop 9a8b...".
    public var description: String {
        "\(accountId) -> \(destination): " + alerts.map { "\($0.type.rawValue) \($0.alertId)" }.joined(separator: ", ")
    }

    /// Groups a batch of alerts, in the order their groups first appear: alerts for the same
    /// account and destination whose grouping times lie within `windowMs` of the group's first
    /// alert go together (0: only alerts of the same instant, i.e. the same evaluation), at most
    /// `maxAlerts` per group. Pure.
    public static func grouping(
        _ alerts: [AlertRecord], windowMs: Int64 = 0, maxAlerts: Int = AlertGrouper.defaultMaxAlertsPerGroup
    ) -> [AlertGroup] {
        var open: [[AlertRecord]] = []
        for alert in alerts {
            if let i = open.firstIndex(where: { joins(alert, $0, windowMs: windowMs, maxAlerts: maxAlerts) }) {
                open[i].append(alert)
            } else {
                open.append([alert])
            }
        }
        return open.map(AlertGroup.init(checked:))
    }

    /// Whether `alert` may join the alerts `members` (non-empty) of an open group.
    static func joins(_ alert: AlertRecord, _ members: [AlertRecord], windowMs: Int64, maxAlerts: Int) -> Bool {
        let first = members[0]
        guard alert.type != .digest, first.type != .digest,
            alert.destination == first.destination, alert.accountId == first.accountId
        else { return false }
        if members.contains(where: { $0.deliveryKey == alert.deliveryKey }) { return true }
        guard members.count < maxAlerts else { return false }
        let gap = groupingTime(of: alert).millisecondsSinceEpoch - groupingTime(of: first).millisecondsSinceEpoch
        return abs(gap) <= windowMs
    }
}
