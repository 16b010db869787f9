import Contracts

/// The one place a digest is built: the line an alert becomes in a digest, and the digest record
/// listing such lines. `DestinationSchedule.takeDue` (the dispatcher, and through
/// `DestinationTimeline` the backtest, rules tests and the bench) builds every digest with it.
public enum DigestBuilder {
    /// The digest line of an alert, from the score facts it carries (an alert without them, such
    /// as one from a rules-only tool, shows its rule or type as its headline).
    public static func item(of alert: AlertRecord) -> DigestItem {
        guard let record = alert.score else {
            return DigestItem(
                alertId: alert.alertId, type: alert.type, severity: alert.severity, accountId: alert.accountId,
                accountName: nil, score: 0, delta: 0, zone: .healthy, headline: alert.rule ?? alert.type.rawValue,
                url: nil, at: alert.raisedAt, drop: alert.drop)
        }
        let headline: String
        switch alert.type {
        case .expansionSignal, .upsellOpportunity:
            headline = record.positiveSignals.first?.text ?? "Growth signal"
        case .recovered:
            headline = "Back to \(record.zone.rawValue) at score \(record.score)"
        case .billingRetryFailed:
            headline =
                record.signals.first {
                    $0.code == SignalCode.billingRetryFailed || $0.code == SignalCode.paymentFailures
                }?.text
                ?? "Billing retry failed"
        default:
            headline =
                record.signals.first?.text ?? "Score \(record.score) (\(alert.drop?.summary ?? String(record.delta)))"
        }
        return DigestItem(
            alertId: alert.alertId, type: alert.type, severity: alert.severity, accountId: record.accountId,
            accountName: record.profile.name, score: record.score, delta: record.delta, zone: record.zone,
            headline: headline, url: record.profile.url, at: record.validAt, drop: alert.drop)
    }

    /// A digest record listing `items` most severe first (then by account and id); its severity is
    /// the worst item's, its priority the most urgent one's; it is raised and not before `due`.
    /// Nil when `items` is empty (there is no digest of nothing).
    public static func record(
        id: String, destination: String, due: Timestamp, title: String, items: [(priority: Priority, item: DigestItem)]
    ) -> AlertRecord? {
        let sorted = items.sorted {
            ($1.item.severity.rank, $0.item.accountId, $0.item.alertId) < (
                $0.item.severity.rank, $1.item.accountId, $1.item.alertId
            )
        }
        guard let severity = sorted.map(\.item.severity).max(), let priority = sorted.map(\.priority).min() else {
            return nil
        }
        return AlertRecord(
            alertId: id, type: .digest, severity: severity, priority: priority, destination: destination,
            accountId: "*", raisedAt: due, notBefore: due, rule: "digest", digestItems: sorted.map(\.item),
            digestTitle: title)
    }
}
