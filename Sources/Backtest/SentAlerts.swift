import Contracts

/// One line of the dispatcher's delivery log (`alerts-delivered`), reduced to what the precision
/// report needs: which alert reached which destination, when.
public struct DeliveredAlert: Sendable, Hashable {
    /// The alert delivered.
    public var alertId: String
    /// Where it was delivered.
    public var destination: String
    /// The account it is about.
    public var accountId: String
    /// Its alert type (`customer_at_risk`, ..., `digest`).
    public var type: String
    /// When the destination acknowledged it.
    public var deliveredAt: Timestamp

    /// A delivery from its fields.
    public init(alertId: String, destination: String, accountId: String, type: String, deliveredAt: Timestamp) {
        self.alertId = alertId
        self.destination = destination
        self.accountId = accountId
        self.type = type
        self.deliveredAt = deliveredAt
    }
}

/// The alerts the precision report counts when it reads the cluster: the ones actually sent.
public enum SentAlerts {
    /// The alerts that were delivered, as alert records: with no delivery log (empty
    /// `deliveries`), every alert record; else one record per delivered alert and destination, the
    /// `alerts` record's facts where the topic still holds it (its rule and raise time), otherwise
    /// rebuilt from the delivery (its type; its rule from feedback on it when there is some, the
    /// rule the feedback link was signed for; raised at its delivery time). Update records and
    /// the deliveries of edits (`message_update`) are not alerts and are left out.
    public static func merge(alerts: [AlertRecord], deliveries: [DeliveredAlert], feedback: [FeedbackRecord])
        -> [AlertRecord]
    {
        // Update records edit a posted message (issue 24): they are not alerts.
        let alerts = alerts.filter { $0.update == nil }
        guard !deliveries.isEmpty else { return alerts }
        var known: [String: AlertRecord] = [:]
        for a in alerts {
            let key = a.alertId + "|" + a.destination
            if let seen = known[key], seen.raisedAt <= a.raisedAt { continue }
            known[key] = a
        }
        var ruleOf: [String: String] = [:]
        for f in feedback { ruleOf[f.alertId] = f.rule }
        var out: [AlertRecord] = []
        var done = Set<String>()
        for d in deliveries {
            let key = d.alertId + "|" + d.destination
            guard done.insert(key).inserted else { continue }
            if let a = known[key] {
                out.append(a)
            } else if let type = AlertType(rawValue: d.type) {
                out.append(
                    AlertRecord(
                        alertId: d.alertId, type: type, severity: .medium, priority: Priority(level: 3)!,
                        destination: d.destination,
                        accountId: d.accountId, raisedAt: d.deliveredAt, rule: ruleOf[d.alertId]))
            }
        }
        return out
    }
}
