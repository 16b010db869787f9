import AlertRules
import Contracts
import Foundation

/// One account as `fleet-admin account ID` shows it (issue 24): its latest score (zone, profile,
/// top signals, from `health-scores`), its open episodes (`OpenAlerts`, from the evaluator's
/// changelog), and its recent alerts (from `alerts`, each with its delivery-log line). Pure.
public struct AccountView: Sendable, Equatable {
    /// One alert raised for the account.
    public struct RecentAlert: Sendable, Equatable {
        public var alertId: String
        public var type: AlertType
        public var rule: String?
        public var severity: Severity
        public var priority: Priority
        public var destination: String
        public var raisedAt: Timestamp
        /// The escalation step it is (1-based), if it is one.
        public var escalationStep: Int?
        public var delivery: OpenAlertRow.Delivery?
    }

    public var account: String
    /// The latest score record (by event time).
    public var score: ScoreRecord?
    /// The latest score the evaluator evaluated (its state), when it has one.
    public var evaluatedScore: Int?
    public var openEpisodes: [OpenAlertRow]
    /// Newest first.
    public var recentAlerts: [RecentAlert]

    /// The view of `account` from the decoded topics: `scores` (any account's; the latest of this
    /// one by `valid_at` is kept, ties to the later in the list), its evaluator `state`, `alerts`
    /// (any account's; the latest `recent` of this one, one line per alert and destination), and
    /// the delivery log's entries.
    public static func make(
        account: String, scores: [ScoreRecord], state: AccountAlertState?, alerts: [AlertRecord],
        deliveries: [DeliveryLogEntry], rules: [(name: String, type: AlertType)] = [], now: Timestamp,
        recent: Int = 10
    ) -> AccountView {
        var latest: ScoreRecord?
        for s in scores where s.accountId == account {
            if let l = latest, l.validAt > s.validAt { continue }
            latest = s
        }
        let episodes =
            state.map {
                OpenAlerts.rows(
                    states: [account: $0], alerts: alerts, deliveries: deliveries, rules: rules,
                    query: OpenAlertsQuery(includeResolved: true), now: now)
            } ?? []
        var delivered: [String: DeliveryLogEntry] = [:]
        for e in deliveries where e.accountId == account { delivered["\(e.alertId)|\(e.destination)"] = e }
        var seen = Set<String>()
        let mine = alerts.filter { $0.accountId == account && seen.insert($0.deliveryKey).inserted }
            .sorted { ($0.raisedAt, $0.alertId, $0.destination) > ($1.raisedAt, $1.alertId, $1.destination) }
            .prefix(max(0, recent))
        let lines = mine.map { a in
            RecentAlert(
                alertId: a.alertId, type: a.type, rule: a.rule, severity: a.severity, priority: a.priority,
                destination: a.destination, raisedAt: a.raisedAt, escalationStep: a.escalation?.step,
                delivery: delivered[a.deliveryKey].map {
                    .init(
                        alertId: $0.alertId, destination: $0.destination, deliveredAt: $0.deliveredAt,
                        status: $0.status, retries: $0.retries)
                })
        }
        return AccountView(
            account: account, score: latest, evaluatedScore: state?.latestScore, openEpisodes: episodes,
            recentAlerts: Array(lines))
    }

    /// For people: the score and why, the episodes, the recent alerts.
    public var text: String {
        var out: [String] = []
        if let s = score {
            let name = s.profile.name.map { "\($0) (\(account))" } ?? account
            let tier = s.profile.tier.map { ", \($0.rawValue)" } ?? ""
            let mrr = s.profile.mrr.map { ", MRR \(Int($0))" } ?? ""
            let owner = s.profile.owner.map { ", owner \($0)" } ?? ""
            out.append("\(name)\(tier)\(mrr)\(owner)")
            let previous = s.previousScore.map { " (was \($0), \(s.delta >= 0 ? "+" : "")\(s.delta))" } ?? ""
            out.append("score \(s.score)\(previous), zone \(s.zone.rawValue), at \(s.validAt.rfc3339)")
            if !s.signals.isEmpty {
                out.append("signals:")
                for signal in s.signals.prefix(5) {
                    out.append("  \(signal.text) (impact \(String(format: "%.1f", signal.impact)))")
                }
            }
        } else {
            out.append("\(account): no score record on health-scores")
        }
        if let evaluated = evaluatedScore, evaluated != score?.score {
            out.append("the evaluator last evaluated score \(evaluated)")
        }
        out.append("")
        if openEpisodes.isEmpty {
            out.append("no open episodes")
        } else {
            out.append("open episodes:")
            out.append(
                contentsOf: TextTable.render(
                    [OpenAlertsText.header] + openEpisodes.map(OpenAlertsText.cells)
                ).split(separator: "\n").map { "  " + $0 })
        }
        out.append("")
        if recentAlerts.isEmpty {
            out.append("no recent alerts on alerts")
        } else {
            out.append("recent alerts (newest first):")
            let rows = recentAlerts.map { a in
                [
                    a.raisedAt.rfc3339, a.type.rawValue, a.rule ?? "-", a.severity.rawValue, a.priority.rawValue,
                    "-> " + a.destination, a.escalationStep.map { "escalation \($0)" } ?? "",
                    a.delivery.map { "delivered \($0.deliveredAt.rfc3339) (\($0.status))" }
                        ?? "not in the delivery log",
                    a.alertId,
                ]
            }
            out.append(contentsOf: TextTable.render(rows).split(separator: "\n").map { "  " + $0 })
        }
        return out.joined(separator: "\n") + "\n"
    }
}

// The JSON of `fleet-admin account ID --json`.
extension AccountView: Encodable {
    enum CodingKeys: String, CodingKey {
        case account, score
        case evaluatedScore = "evaluated_score"
        case openEpisodes = "open_episodes"
        case recentAlerts = "recent_alerts"
    }

    /// As JSON (sorted keys, pretty), for machines.
    public func json() throws -> String {
        let encoder = RecordCoding.makeEncoder()
        encoder.outputFormatting.insert(.prettyPrinted)
        return String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
    }
}

extension AccountView.RecentAlert: Encodable {
    enum CodingKeys: String, CodingKey {
        case alertId = "alert_id"
        case type, rule, severity, priority, destination
        case raisedAt = "raised_at"
        case escalationStep = "escalation_step"
        case delivery
    }
}
