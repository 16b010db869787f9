import AlertRules
import Contracts

/// One alert of a backtest as a person reads it: the alert id with every destination it went to,
/// and the signals behind it (an `alerts` record exists per destination; this is one per alert id).
public struct BacktestAlert: Sendable, Hashable {
    /// The deterministic alert id (the same on every destination).
    public var alertId: String
    /// The alert type.
    public var type: AlertType
    /// Its severity.
    public var severity: Severity
    /// Its priority (severity x tier).
    public var priority: Priority
    /// The rule that raised it.
    public var rule: String
    /// The account.
    public var accountId: String
    /// The account's name, from the score record.
    public var accountName: String?
    /// Event time of the score record that raised it.
    public var raisedAt: Timestamp
    /// The score then.
    public var score: Int?
    /// The zone then.
    public var zone: Zone?
    /// Destination name -> where it went there (at once, after quiet hours, in a digest).
    public var destinations: [String: AlertDisposition]
    /// The signals behind it, with their numbers and impact, most important first.
    public var signals: [String]

    /// Destination names, sorted.
    public var destinationNames: [String] { destinations.keys.sorted() }

    /// Groups raised alerts (one per destination) into alerts (one per alert id), in raise order.
    public static func group(_ raised: [RaisedAlert]) -> [BacktestAlert] {
        var index: [String: Int] = [:]
        var out: [BacktestAlert] = []
        for r in raised {
            if let k = index[r.alert.alertId] {
                out[k].destinations[r.alert.destination] = r.disposition
                continue
            }
            index[r.alert.alertId] = out.count
            out.append(BacktestAlert(r.alert, destinations: [r.alert.destination: r.disposition]))
        }
        return out
    }

    init(_ a: AlertRecord, destinations: [String: AlertDisposition]) {
        alertId = a.alertId
        type = a.type
        severity = a.severity
        priority = a.priority
        rule = a.rule ?? a.type.rawValue
        accountId = a.accountId
        accountName = a.score?.profile.name
        raisedAt = a.raisedAt
        score = a.score?.score
        zone = a.score?.zone
        self.destinations = destinations
        signals = Self.reasons(of: a)
    }

    /// The facts behind an alert, as short texts: the trigger, then the signals that drove its type
    /// (growth signals for expansion and upsell, the hurting signals otherwise), at most five.
    public static func reasons(of a: AlertRecord) -> [String] {
        var out: [String] = []
        if let t = a.trigger {
            var text = "\(t.type.rawValue) \(t.ref ?? t.eventId)"
            if let amount = t.amount { text += " \(Self.number(amount))\(t.currency.map { " \($0)" } ?? "")" }
            if let before = t.seatsBefore, let after = t.seatsAfter { text += " seats \(before) -> \(after)" }
            out.append(text)
        }
        guard let score = a.score else { return out }
        switch a.type {
        case .expansionSignal, .upsellOpportunity:
            out += score.positiveSignals.map { "\($0.text) (+\(Self.number($0.impact)))" }
        case .recovered:
            out.append("back to \(score.zone.rawValue) at score \(score.score)")
        default:
            out += score.signals.map { "\($0.text) (\(Self.number($0.impact)))" }
        }
        return Array(out.prefix(5))
    }

    static func number(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String((x * 10).rounded() / 10)
    }
}
