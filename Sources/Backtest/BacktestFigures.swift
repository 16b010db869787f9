import AlertRules
import Contracts

/// The figures of one rule set's backtest: alerts per destination, type, priority and ISO week, the
/// noisiest accounts and rules, and every alert with the signals behind it. Counts are alerts (one
/// per alert id) except per destination, where each destination's records are counted.
public struct BacktestFigures: Sendable {
    /// One destination's load.
    public struct DestinationLoad: Sendable, Hashable {
        /// The destination's name.
        public var destination: String
        /// Alerts raised for it (one record each).
        public var alerts: Int
        /// Of which delivered at once.
        public var now: Int
        /// Held by quiet hours and delivered at their end.
        public var deferred: Int
        /// Delivered as lines of a digest.
        public var digested: Int
        /// Digest messages it received.
        public var digests: Int
        /// Records on the `alerts` topic for it (alerts delivered on their own, plus digests).
        public var messages: Int
    }

    /// An account's alerts.
    public struct AccountNoise: Sendable {
        /// The account.
        public var accountId: String
        /// Its name, from its latest profile.
        public var name: String?
        /// Alerts (one per alert id).
        public var alerts: Int
        /// Alerts by type, most first.
        public var types: [(AlertType, Int)]
    }

    /// A rule's alerts.
    public struct RuleNoise: Sendable, Hashable {
        /// The rule's name.
        public var rule: String
        /// Alerts (one per alert id).
        public var alerts: Int
        /// Distinct accounts it alerted on.
        public var accounts: Int
    }

    /// Every alert (one per alert id), in the order raised, with the signals behind it.
    public var alerts: [BacktestAlert]
    /// Destinations by alerts, most first (ties by name).
    public var destinations: [DestinationLoad]
    /// Alerts per type, in `AlertType` order (types without alerts left out).
    public var byType: [(AlertType, Int)]
    /// Alerts per priority, P1 first.
    public var byPriority: [(Priority, Int)]
    /// Alerts per severity, critical first.
    public var bySeverity: [(Severity, Int)]
    /// Every ISO week of the period (weeks without alerts included), with its alert count.
    public var byWeek: [(ISOWeek, Int)]
    /// Accounts by alert count, most first (ties by id).
    public var accounts: [AccountNoise]
    /// Rules by alert count, most first (ties by name).
    public var rules: [RuleNoise]
    /// Deferred alerts and digest lines still waiting at the end.
    public var heldAtEnd: Int

    /// The figures of `run` over the weeks from `from` to `to` (the alerts' own span where nil).
    public init(run: RulesRun, from: Timestamp? = nil, to: Timestamp? = nil) {
        let alerts = BacktestAlert.group(run.raised)
        self.alerts = alerts
        heldAtEnd = run.heldAtEnd

        var loads: [String: DestinationLoad] = [:]
        func load(_ d: String) -> DestinationLoad {
            loads[d]
                ?? DestinationLoad(destination: d, alerts: 0, now: 0, deferred: 0, digested: 0, digests: 0, messages: 0)
        }
        for r in run.raised {
            var l = load(r.alert.destination)
            l.alerts += 1
            switch r.disposition {
            case .now: l.now += 1
            case .deferred: l.deferred += 1
            case .digest: l.digested += 1
            }
            loads[r.alert.destination] = l
        }
        for a in run.alerts {
            var l = load(a.destination)
            l.messages += 1
            if a.type == .digest { l.digests += 1 }
            loads[a.destination] = l
        }
        destinations = loads.values.sorted { ($1.alerts, $0.destination) < ($0.alerts, $1.destination) }

        func tally<K: Hashable>(_ key: (BacktestAlert) -> K) -> [K: Int] {
            var out: [K: Int] = [:]
            for a in alerts { out[key(a), default: 0] += 1 }
            return out
        }
        let types = tally(\.type)
        byType = AlertType.allCases.compactMap { t in types[t].map { (t, $0) } }
        byPriority = tally(\.priority).sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        let severities = tally(\.severity)
        bySeverity = Severity.allCases.reversed().compactMap { s in severities[s].map { (s, $0) } }

        let weeks = tally { ISOWeek($0.raisedAt) }
        let first = from ?? alerts.map(\.raisedAt).min()
        let last = to ?? alerts.map(\.raisedAt).max()
        if let first, let last {
            byWeek = ISOWeek.range(ISOWeek(first), ISOWeek(last)).map { ($0, weeks[$0] ?? 0) }
        } else {
            byWeek = []
        }

        var perAccount: [String: [BacktestAlert]] = [:]
        for a in alerts { perAccount[a.accountId, default: []].append(a) }
        accounts = perAccount.map { id, list in
            var t: [AlertType: Int] = [:]
            for a in list { t[a.type, default: 0] += 1 }
            return AccountNoise(
                accountId: id, name: list.last?.accountName, alerts: list.count,
                types: t.sorted { ($1.value, $0.key.rawValue) < ($0.value, $1.key.rawValue) }.map { ($0.key, $0.value) }
            )
        }.sorted { ($1.alerts, $0.accountId) < ($0.alerts, $1.accountId) }

        var perRule: [String: (Int, Set<String>)] = [:]
        for a in alerts {
            var entry = perRule[a.rule] ?? (0, [])
            entry.0 += 1
            entry.1.insert(a.accountId)
            perRule[a.rule] = entry
        }
        rules = perRule.map { RuleNoise(rule: $0.key, alerts: $0.value.0, accounts: $0.value.1.count) }
            .sorted { ($1.alerts, $0.rule) < ($0.alerts, $1.rule) }
    }

    /// Destination records raised (an alert sent to two channels counts twice).
    public var destinationRecords: Int { destinations.reduce(0) { $0 + $1.alerts } }
}
