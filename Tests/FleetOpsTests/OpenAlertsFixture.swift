import AlertRules
import Contracts
import Kafka
import Stages
import WorkerRuntime

/// A small story through the real evaluator processor (`ProcessorHarness`), so the states the
/// `fleet-admin alerts` tests read are the ones the evaluator writes: on Monday 09:00 acme
/// (critical), beta (at risk, high), gamma (critical) and delta (critical) alert; gamma is taken by
/// U0GINA ten minutes later, delta resolved as a false positive; at 14:00 another account's record
/// moves time past acme's 4 h SLA (business hours 09-17), so acme escalates to `managers`.
enum OpenAlertsFixture {
    static let rulesYAML = """
        version: 1
        rules:
          - name: at-risk
            type: customer_at_risk
            when: {zone_in: [at_risk, critical]}
            severity: high
            severity_by_zone: {critical: critical}
        routes:
          - {destination: team, match: {types: [customer_at_risk]}}
        destinations:
          team: {}
          managers: {}
        sla:
          critical:
            respond_within: 4h
            escalate_to:
              - {destinations: [managers], mentions: [U0MANAGER]}
              - {destinations: [managers], mentions: [U0MANAGER]}
        """
    /// Monday 2026-11-16 09:00 UTC.
    static let monday: Int64 = 1_794_819_600_000
    static let minute: Int64 = 60_000
    static let hour: Int64 = 3_600_000
    static let now = Timestamp(millisecondsSinceEpoch: monday + 5 * hour)

    static func score(_ account: String, at: Int64, score: Int, offset: Int64) -> ConsumedRecord {
        let d = Double(score)
        let record = ScoreRecord(
            accountId: account, validAt: Timestamp(millisecondsSinceEpoch: at), score: score, previousScore: nil,
            delta: 0, zone: score >= 70 ? .healthy : score >= 40 ? .atRisk : .critical, previousZone: nil,
            components: FamilyScores(productUsage: d, engagement: d, support: d, commercial: d),
            signals: [
                Signal(
                    code: "logins_down", family: .productUsage, text: "Logins down 62% vs 28-day baseline", impact: -18)
            ],
            positiveSignals: [], profile: AccountProfile(name: account.capitalized, tier: .enterprise, owner: "U0CSM"),
            triggers: [], eventIds: [], reasons: [.scoreStep], cancellationScheduled: false)
        return ConsumedRecord(
            topic: "health-scores", partition: 0, offset: offset, key: Array(account.utf8),
            value: try! RecordCoding.encode(record), headers: [], timestamp: nil)
    }

    static func action(
        _ kind: AlertActionKind, on alert: AlertRecord, id: String, by: String, at: Int64,
        outcome: AlertOutcome? = nil, offset: Int64
    ) -> ConsumedRecord {
        var action = AlertActionRecord(
            actionId: id, kind: kind, accountId: alert.accountId, alertId: alert.alertId, rule: alert.rule,
            destination: alert.destination, by: by, at: Timestamp(millisecondsSinceEpoch: at), source: .slack)
        action.outcome = outcome
        return ConsumedRecord(
            topic: "alert-actions", partition: 0, offset: offset, key: Array(alert.accountId.utf8),
            value: try! RecordCoding.encode(action), headers: [], timestamp: nil)
    }

    static func alerts(_ outcome: ProcessorHarness<EvaluatorProcessor>.Outcome) -> [AlertRecord] {
        guard case .emitted(let records) = outcome else { return [] }
        return records.filter { $0.topic == "alerts" }.compactMap {
            try? RecordCoding.decode(AlertRecord.self, from: $0.value ?? [])
        }
    }

    struct Story {
        var harness: ProcessorHarness<EvaluatorProcessor>
        var alerts: [AlertRecord]
        /// acme's state before it escalated (a stale write in the Kafka test).
        var acmeBefore: AccountAlertState

        var states: [String: AccountAlertState] {
            var out: [String: AccountAlertState] = [:]
            for (key, value) in harness.state.values { out[key] = value }
            return out
        }

        func alert(_ account: String, escalation: Bool = false) -> AlertRecord {
            alerts.first { $0.accountId == account && ($0.escalation != nil) == escalation }!
        }
    }

    static func story() throws -> Story {
        let processor = EvaluatorProcessor(
            engine: RulesEngine(config: try RulesConfig.parse(yaml: rulesYAML, file: "rules.yaml")),
            alertsTopic: "alerts", live: false, actionsTopic: "alert-actions")
        let harness = ProcessorHarness(processor: processor)
        let wall = monday + 30 * 86_400_000
        var alerts: [AlertRecord] = []
        for (i, (account, value)) in [("acme", 30), ("beta", 60), ("gamma", 25), ("delta", 35)].enumerated() {
            alerts += Self.alerts(
                harness.process(score(account, at: monday, score: value, offset: Int64(i)), now: wall))
        }
        let gamma = alerts.first { $0.accountId == "gamma" }!
        let delta = alerts.first { $0.accountId == "delta" }!
        _ = harness.process(
            action(.take, on: gamma, id: "c1", by: "U0GINA", at: monday + 10 * minute, offset: 0), now: wall)
        _ = harness.process(
            action(
                .resolve, on: delta, id: "c2", by: "U0DAN", at: monday + 20 * minute, outcome: .falsePositive,
                offset: 1), now: wall)
        let before = harness.state["acme"]!
        alerts += Self.alerts(harness.process(score("zeta", at: monday + 5 * hour, score: 90, offset: 4), now: wall))
        return Story(harness: harness, alerts: alerts, acmeBefore: before)
    }

    /// The delivery log: acme's first alert and its escalation, gamma's alert.
    static func deliveries(_ story: Story) -> [DeliveryLogEntry] {
        func entry(_ alert: AlertRecord, at: Int64) -> DeliveryLogEntry {
            DeliveryLogEntry(
                alertId: alert.alertId, destination: alert.destination, accountId: alert.accountId,
                type: alert.type.rawValue, deliveredAt: Timestamp(millisecondsSinceEpoch: at), status: 200, retries: 0,
                messageAlertIds: [alert.alertId])
        }
        return [
            entry(story.alert("acme"), at: monday + 1000),
            entry(story.alert("acme", escalation: true), at: monday + 5 * hour + 1000),
            entry(story.alert("gamma"), at: monday + 2000),
        ]
    }
}
