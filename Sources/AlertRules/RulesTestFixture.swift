import Contracts

/// A recorded scenario for a rules file, in the spirit of `promtool test rules`: score records at
/// given times, moments where time passes, and the alerts expected (type, account, destination,
/// priority, and when deferred, the not-before time).
///
/// ```yaml
/// name: churn risk for an enterprise account
/// accounts:                      # profiles used by the steps
///   acme: {name: Acme, tier: enterprise, mrr: 12000, owner: U0ACME}
/// steps:
///   - at: 2026-11-17T15:00:00Z   # a score record (zone follows from the score: >= 70 healthy,
///     account: acme              # 40-69 at_risk, < 40 critical, unless given)
///     score: 62
///     signals: [{code: logins_down, text: "Logins down 62% vs 28-day baseline", value: -0.62}]
///     triggers: [{type: billing_retry_failed, ref: inv-1}]
///   - advance_to: 2026-11-18T14:00:00Z   # time passes: deferred alerts and digests due are released
///   - record_json: '{"account_id": "acme", ...}'   # a recorded health-scores record, verbatim
/// expect:                        # compared as a set; not_before omitted means "sent at once"
///   - {type: customer_at_risk, account: acme, destination: cs-escalations, priority: P1}
/// ```
public struct RulesTestFixture: Sendable {
    public enum Step: Sendable {
        case record(ScoreRecord)
        case advance(Timestamp)
    }

    public var name: String
    public var file: String
    public var steps: [Step]
    public var expected: [ExpectedAlert]

    public init(name: String, file: String, steps: [Step], expected: [ExpectedAlert]) {
        self.name = name
        self.file = file
        self.steps = steps
        self.expected = expected
    }

    /// Parses a fixture. Errors name the file, line and key.
    public static func parse(yaml: String, file: String) throws -> RulesTestFixture {
        let root = try YAMLValue.document(yaml: yaml, file: file)
        let top = try root.map(allowed: ["name", "accounts", "steps", "expect"])
        var profiles: [String: AccountProfile] = [:]
        if let accounts = top["accounts"] {
            for (id, value) in try accounts.namedEntries() {
                let m = try value.map(allowed: ["name", "tier", "mrr", "owner", "url", "timezone"])
                profiles[id] = AccountProfile(
                    name: try m["name"]?.string(), tier: try m["tier"]?.oneOf(Tier.self, allowed: Tier.allCases),
                    mrr: try m["mrr"]?.double(), owner: try m["owner"]?.string(),
                    url: try m["url"]?.string(), timezone: try m["timezone"]?.string())
            }
        }
        var steps: [Step] = []
        var lastScore: [String: (Int, Zone)] = [:]
        var lastTime: Timestamp?
        for (n, item) in try top.require("steps").list().enumerated() {
            let m = try item.map(allowed: [
                "at", "account", "score", "zone", "previous_score", "signals", "positive_signals",
                "triggers", "cancellation_scheduled", "advance_to", "record_json",
            ])
            if let json = m["record_json"] {
                guard m.keys == ["record_json"] else { throw item.error("a record_json step takes no other keys") }
                let record: ScoreRecord
                do {
                    record = try RecordCoding.decode(ScoreRecord.self, from: Array(try json.string().utf8))
                } catch let error as AlertRulesError {
                    throw error
                } catch {
                    throw json.error("not a health-scores record: \(RecordCoding.describe(error))")
                }
                if let lastTime, record.validAt < lastTime {
                    throw json.error("time goes backwards (previous step at \(lastTime))")
                }
                lastTime = record.validAt
                lastScore[record.accountId] = (record.score, record.zone)
                steps.append(.record(record))
                continue
            }
            if let advance = m["advance_to"] {
                guard m.keys == ["advance_to"] else { throw item.error("an advance_to step takes no other keys") }
                let t = try advance.timestamp()
                if let lastTime, t < lastTime {
                    throw advance.error("time goes backwards (previous step at \(lastTime))")
                }
                lastTime = t
                steps.append(.advance(t))
                continue
            }
            let atValue = try m.require("at")
            let at = try atValue.timestamp()
            if let lastTime, at < lastTime { throw atValue.error("time goes backwards (previous step at \(lastTime))") }
            lastTime = at
            let accountValue = try m.require("account")
            let account = try accountValue.nonEmptyString()
            let score = try m.require("score").int(in: 0...100)
            let zone =
                try m["zone"]?.oneOf(Zone.self, allowed: Zone.allCases)
                ?? (score >= 70 ? .healthy : score >= 40 ? .atRisk : .critical)
            let previous = try m["previous_score"]?.int(in: 0...100) ?? lastScore[account]?.0
            var triggers: [Trigger] = []
            if let list = m["triggers"] {
                for (i, t) in try list.list().enumerated() {
                    let tm = try t.map(allowed: ["type", "ref", "amount", "currency", "seats_before", "seats_after"])
                    triggers.append(
                        Trigger(
                            type: try tm.require("type").oneOf(TriggerType.self, allowed: TriggerType.allCases),
                            eventId: "fixture-\(n)-\(i)", occurredAt: at, ref: try tm["ref"]?.string(),
                            amount: try tm["amount"]?.double(), currency: try tm["currency"]?.string(),
                            seatsBefore: try tm["seats_before"]?.int(), seatsAfter: try tm["seats_after"]?.int()))
                }
            }
            let d = Double(score)
            let record = ScoreRecord(
                accountId: account, validAt: at, score: score, previousScore: previous,
                delta: previous.map { score - $0 } ?? 0,
                zone: zone, previousZone: lastScore[account]?.1,
                components: FamilyScores(productUsage: d, engagement: d, support: d, commercial: d),
                signals: try m["signals"].map(parseSignals) ?? [],
                positiveSignals: try m["positive_signals"].map(parseSignals) ?? [],
                profile: profiles[account] ?? AccountProfile(), triggers: triggers, eventIds: ["fixture-\(n)"],
                reasons: previous == nil ? [.first] : [.scoreStep],
                cancellationScheduled: try m["cancellation_scheduled"]?.bool() ?? false)
            lastScore[account] = (score, zone)
            steps.append(.record(record))
        }
        var expected: [ExpectedAlert] = []
        for item in try top["expect"]?.list() ?? [] {
            let m = try item.map(allowed: [
                "type", "account", "destination", "priority", "severity", "not_before", "raised_at", "accounts",
            ])
            let priorityValue = try m.require("priority")
            guard let priority = Priority(rawValue: try priorityValue.string()) else {
                throw priorityValue.error("expected P1 to P9")
            }
            let type = try m.require("type").oneOf(AlertType.self, allowed: AlertType.allCases)
            expected.append(
                ExpectedAlert(
                    type: type,
                    account: try m["account"]?.nonEmptyString()
                        ?? (type == .digest ? "*" : try m.require("account").nonEmptyString()),
                    destination: try m.require("destination").nonEmptyString(), priority: priority,
                    severity: try m["severity"]?.oneOf(Severity.self, allowed: Severity.allCases),
                    notBefore: try m["not_before"]?.timestamp(), raisedAt: try m["raised_at"]?.timestamp(),
                    digestAccounts: try m["accounts"].map {
                        try $0.stringList().map { try $0.nonEmptyString() }.sorted()
                    },
                    line: item.line))
        }
        return RulesTestFixture(name: try top["name"]?.string() ?? file, file: file, steps: steps, expected: expected)
    }

    private static func parseSignals(_ value: YAMLValue) throws -> [Signal] {
        try value.list().map { item in
            let m = try item.map(allowed: ["code", "family", "text", "impact", "value", "baseline"])
            let code = try m.require("code").nonEmptyString()
            return Signal(
                code: code,
                family: try m["family"]?.oneOf(SignalFamily.self, allowed: SignalFamily.allCases) ?? .productUsage,
                text: try m["text"]?.string() ?? code, impact: try m["impact"]?.double() ?? 0,
                value: try m["value"]?.double(), baseline: try m["baseline"]?.double())
        }
    }
}

/// One alert a fixture expects. Fields left nil are not compared, except `notBefore`: nil there
/// means the alert must go at once.
public struct ExpectedAlert: Sendable, Equatable, CustomStringConvertible {
    public var type: AlertType
    public var account: String
    public var destination: String
    public var priority: Priority
    public var severity: Severity?
    public var notBefore: Timestamp?
    public var raisedAt: Timestamp?
    /// For digests: the accounts listed, sorted.
    public var digestAccounts: [String]?
    /// Line in the fixture file.
    public var line: Int?

    public init(
        type: AlertType, account: String, destination: String, priority: Priority, severity: Severity? = nil,
        notBefore: Timestamp? = nil, raisedAt: Timestamp? = nil, digestAccounts: [String]? = nil, line: Int? = nil
    ) {
        self.type = type
        self.account = account
        self.destination = destination
        self.priority = priority
        self.severity = severity
        self.notBefore = notBefore
        self.raisedAt = raisedAt
        self.digestAccounts = digestAccounts
        self.line = line
    }

    /// Whether `alert` is this expected alert.
    public func matches(_ alert: AlertRecord) -> Bool {
        alert.type == type && alert.accountId == account && alert.destination == destination
            && alert.priority == priority
            && (severity.map { $0 == alert.severity } ?? true) && alert.notBefore == notBefore
            && (raisedAt.map { $0 == alert.raisedAt } ?? true)
            && (digestAccounts.map { $0 == Self.accounts(of: alert) } ?? true)
    }

    static func accounts(of alert: AlertRecord) -> [String] {
        Array(Set((alert.digestItems ?? []).map(\.accountId))).sorted()
    }

    public var description: String {
        var s = "\(type.rawValue) \(account) -> \(destination) \(priority)"
        if let severity { s += " \(severity.rawValue)" }
        if let raisedAt { s += " raised \(raisedAt)" }
        s += notBefore.map { " not_before \($0)" } ?? " at once"
        if let digestAccounts { s += " [\(digestAccounts.joined(separator: ", "))]" }
        return s
    }

    /// How a produced alert reads in a diff, in the same shape as an expected one.
    public static func describe(_ alert: AlertRecord) -> String {
        var s =
            "\(alert.type.rawValue) \(alert.accountId) -> \(alert.destination) \(alert.priority) \(alert.severity.rawValue) raised \(alert.raisedAt)"
        s += alert.notBefore.map { " not_before \($0)" } ?? " at once"
        if alert.type == .digest { s += " [\(accounts(of: alert).joined(separator: ", "))]" }
        return s
    }
}
