import AlertRules
import Contracts

/// What is open now (`fleet-admin alerts`, issue 24): one row per open episode of the evaluator's
/// state, with who answered it, its response SLA, and the delivery-log line of its latest message.
/// Pure: the decoded topics in, rows out; `OpenAlertsTable` writes them for people, `json` for
/// machines.
///
/// The state keeps a rule's key (a hash of its name), not its name: names come from the rules file
/// and from the rules named by the alerts on `alerts`. An episode's alert ids are recomputed from
/// the rule's name and type (`AlertId.episodeAlert`), which finds its alerts on `alerts` (and their
/// escalations) and its messages in the delivery log.
public struct OpenAlertRow: Sendable, Equatable {
    /// The response SLA of the episode as far as it is known.
    public struct SLA: Sendable, Equatable {
        /// When the running clock is due (the next escalation), if one runs.
        public var due: Timestamp?
        /// The SLA passed unanswered (escalated, or due by `now`).
        public var breached: Bool
        /// Escalations raised so far.
        public var escalations: Int
    }

    /// The delivery-log line of the episode's latest message.
    public struct Delivery: Sendable, Equatable {
        public var alertId: String
        public var destination: String
        public var deliveredAt: Timestamp
        public var status: Int
        public var retries: Int
        /// For a Slack app channel: the channel id and the message's `ts` (the message edited in
        /// place and replied to in its thread).
        public var channel: String?
        public var ts: String?

        public init(
            alertId: String, destination: String, deliveredAt: Timestamp, status: Int, retries: Int,
            channel: String? = nil, ts: String? = nil
        ) {
            self.alertId = alertId
            self.destination = destination
            self.deliveredAt = deliveredAt
            self.status = status
            self.retries = retries
            self.channel = channel
            self.ts = ts
        }
    }

    public var account: String
    /// The rule's name, or `rule#<key in hex>` when no rules file or alert names it.
    public var rule: String
    public var type: AlertType?
    public var severity: Severity
    public var priority: Priority?
    public var openedAt: Timestamp
    /// Alerts raised in the episode (repeats included, escalations not).
    public var alertsSent: Int
    public var lastAlertAt: Timestamp
    public var owner: String?
    public var acknowledgedBy: String?
    public var acknowledgedAt: Timestamp?
    public var snoozedUntil: Timestamp?
    /// The outcome given when someone resolved it (then no longer open for people).
    public var outcome: AlertOutcome?
    public var sla: SLA?
    /// The id of the episode's latest alert, when its rule's name and type are known.
    public var lastAlertId: String?
    public var delivery: Delivery?
}

/// Which rows `fleet-admin alerts` shows: all filters given must hold.
public struct OpenAlertsQuery: Sendable {
    public var account: String?
    public var rule: String?
    /// This severity or worse.
    public var severity: Severity?
    /// Only episodes whose SLA passed unanswered.
    public var breached: Bool
    /// Resolved episodes too (alerted, resolved by someone, condition not yet cleared).
    public var includeResolved: Bool

    public init(
        account: String? = nil, rule: String? = nil, severity: Severity? = nil, breached: Bool = false,
        includeResolved: Bool = false
    ) {
        self.account = account
        self.rule = rule
        self.severity = severity
        self.breached = breached
        self.includeResolved = includeResolved
    }

    public func matches(_ row: OpenAlertRow) -> Bool {
        if let account, row.account != account { return false }
        if let rule, row.rule != rule { return false }
        if let severity, row.severity < severity { return false }
        if breached, row.sla?.breached != true { return false }
        if !includeResolved, row.outcome != nil { return false }
        return true
    }
}

public enum OpenAlerts {
    /// Rule names and types by their episode key, from the rules file's `(name, type)` pairs and
    /// the alerts read (an alert's `rule` and `type`).
    public static func ruleCatalog(rules: [(name: String, type: AlertType)], alerts: [AlertRecord]) -> [UInt32: (
        name: String, type: AlertType
    )] {
        var out: [UInt32: (name: String, type: AlertType)] = [:]
        for alert in alerts where alert.type != .digest && alert.type != .recovered {
            guard let name = alert.rule else { continue }
            out[AlertId.ruleKey(name)] = (name, alert.type)
        }
        for rule in rules { out[AlertId.ruleKey(rule.name)] = rule }
        return out
    }

    /// The rows of the episodes of `states` (account id to its decoded state) that passed the
    /// `query`, the worst severity first, then the oldest. `alerts` are records of `alerts`,
    /// `deliveries` the delivery log's current entries, `now` decides whether a running SLA clock is
    /// breached.
    public static func rows(
        states: [String: AccountAlertState], alerts: [AlertRecord], deliveries: [DeliveryLogEntry],
        rules: [(name: String, type: AlertType)] = [], query: OpenAlertsQuery = OpenAlertsQuery(), now: Timestamp
    ) -> [OpenAlertRow] {
        let catalog = ruleCatalog(rules: rules, alerts: alerts)
        var escalationsOf: [String: [AlertRecord]] = [:]
        var alertById: [String: AlertRecord] = [:]
        for alert in alerts {
            if let e = alert.escalation { escalationsOf[e.alertId, default: []].append(alert) }
            if alertById[alert.alertId] == nil { alertById[alert.alertId] = alert }
        }
        var deliveriesOf: [String: [DeliveryLogEntry]] = [:]
        for entry in deliveries where entry.suppressed == nil { deliveriesOf[entry.alertId, default: []].append(entry) }
        var rows: [OpenAlertRow] = []
        for (account, state) in states {
            if let only = query.account, only != account { continue }
            for episode in state.episodeViews where episode.alertsSent > 0 {
                let known = catalog[episode.ruleKey]
                var ids: [String] = []
                if let known {
                    ids = (0..<min(episode.alertsSent, 10_000)).map {
                        AlertId.episodeAlert(
                            accountId: account, type: known.type, rule: known.name,
                            openedAt: episode.openedAt.millisecondsSinceEpoch, seq: $0)
                    }
                }
                if let clockId = episode.sla?.alertId, !ids.contains(clockId) { ids.append(clockId) }
                let escalations = ids.flatMap { escalationsOf[$0] ?? [] }
                let life = episode.lifecycle
                var sla: OpenAlertRow.SLA?
                let raised = max(
                    episode.sla?.escalationsRaised ?? 0, escalations.compactMap(\.escalation?.step).max() ?? 0)
                if let clock = episode.sla {
                    sla = .init(due: clock.due, breached: raised > 0 || clock.due <= now, escalations: raised)
                } else if raised > 0 {
                    sla = .init(due: nil, breached: true, escalations: raised)
                }
                let messageIds = ids + Array(Set(escalations.map(\.alertId))).sorted()
                let delivery = messageIds.flatMap { deliveriesOf[$0] ?? [] }.max {
                    ($0.deliveredAt, $0.destination) < ($1.deliveredAt, $1.destination)
                }
                let lastId = known != nil && episode.alertsSent <= 10_000 ? ids[episode.alertsSent - 1] : nil
                let priority =
                    life?.priority ?? episode.sla?.priority ?? lastId.flatMap { alertById[$0]?.priority }
                    ?? ids.lazy.compactMap { alertById[$0]?.priority }.first
                let row = OpenAlertRow(
                    account: account, rule: known?.name ?? "rule#" + String(episode.ruleKey, radix: 16),
                    type: known?.type, severity: episode.severity, priority: priority, openedAt: episode.openedAt,
                    alertsSent: episode.alertsSent, lastAlertAt: episode.lastAlertAt, owner: life?.owner,
                    acknowledgedBy: life?.acknowledgedBy, acknowledgedAt: life?.acknowledgedAt,
                    snoozedUntil: life?.snoozedUntil.flatMap { $0 > now ? $0 : nil }, outcome: life?.outcome, sla: sla,
                    lastAlertId: lastId,
                    delivery: delivery.map {
                        .init(
                            alertId: $0.alertId, destination: $0.destination, deliveredAt: $0.deliveredAt,
                            status: $0.status, retries: $0.retries, channel: $0.channel, ts: $0.ts)
                    })
                if query.matches(row) { rows.append(row) }
            }
        }
        return rows.sorted {
            ($1.severity.rank, $0.openedAt, $0.account, $0.rule) < ($0.severity.rank, $1.openedAt, $1.account, $1.rule)
        }
    }
}

// The JSON of `fleet-admin alerts --json` (snake_case keys, RFC 3339 times, absent values left out).
extension OpenAlertRow: Encodable {
    enum CodingKeys: String, CodingKey {
        case account, rule, type, severity, priority
        case openedAt = "opened_at"
        case alertsSent = "alerts_sent"
        case lastAlertAt = "last_alert_at"
        case lastAlertId = "last_alert_id"
        case owner
        case acknowledgedBy = "acknowledged_by"
        case acknowledgedAt = "acknowledged_at"
        case snoozedUntil = "snoozed_until"
        case outcome, sla, delivery
    }
}

extension OpenAlertRow.SLA: Encodable {
    enum CodingKeys: String, CodingKey {
        case due, breached, escalations
    }
}

extension OpenAlertRow.Delivery: Encodable {
    enum CodingKeys: String, CodingKey {
        case alertId = "alert_id"
        case destination
        case deliveredAt = "delivered_at"
        case status, retries, channel, ts
    }
}
