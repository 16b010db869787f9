import AlertRules
import Contracts
import Kafka
import MetricsTestKit
import Stages
import Testing
import WorkerRuntime

/// The evaluator reads `alert-actions` beside `health-scores`: a click applied to the account's
/// state (and its changelog), the episode's next alert suppressed or mentioning the owner, each
/// action once, a silence on every account honoured from the `*` state, and an unreadable record
/// dead-lettered. Counted.
@Suite struct EvaluatorActionsTests {
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
        """
    static let start: Int64 = 1_795_132_800_000

    static func processor(_ metrics: TestMetrics) throws -> EvaluatorProcessor {
        EvaluatorProcessor(
            engine: RulesEngine(config: try RulesConfig.parse(yaml: rulesYAML, file: "rules.yaml")),
            alertsTopic: "alerts", live: false, actionsTopic: "alert-actions",
            lifecycle: LifecycleMetrics(factory: metrics))
    }

    static func score(_ account: String = "acme", hours: Int64, score: Int, offset: Int64) -> ConsumedRecord {
        let d = Double(score)
        let record = ScoreRecord(
            accountId: account, validAt: Timestamp(millisecondsSinceEpoch: start + hours * 3_600_000), score: score,
            previousScore: nil, delta: 0, zone: score >= 70 ? .healthy : score >= 40 ? .atRisk : .critical,
            previousZone: nil, components: FamilyScores(productUsage: d, engagement: d, support: d, commercial: d),
            signals: [], positiveSignals: [], profile: AccountProfile(tier: .smb, owner: "U0CSM"), triggers: [],
            eventIds: [], reasons: [.scoreStep], cancellationScheduled: false)
        return ConsumedRecord(
            topic: "health-scores", partition: 0, offset: offset, key: Array(account.utf8),
            value: try! RecordCoding.encode(record), headers: [], timestamp: nil)
    }

    static func action(_ action: AlertActionRecord, offset: Int64) -> ConsumedRecord {
        ConsumedRecord(
            topic: "alert-actions", partition: 0, offset: offset, key: Array(action.accountId.utf8),
            value: try! RecordCoding.encode(action), headers: [], timestamp: nil)
    }

    static func alerts(_ outcome: ProcessorHarness<EvaluatorProcessor>.Outcome) -> [AlertRecord] {
        guard case .emitted(let records) = outcome else { return [] }
        return records.filter { $0.topic == "alerts" }.compactMap {
            try? RecordCoding.decode(AlertRecord.self, from: $0.value ?? [])
        }
    }

    static func click(_ kind: AlertActionKind, on alert: AlertRecord, id: String, until: Int64? = nil)
        -> AlertActionRecord
    {
        AlertActionRecord(
            actionId: id, kind: kind, accountId: alert.accountId, alertId: alert.alertId, rule: alert.rule,
            destination: alert.destination, by: "U0TAKER", at: Timestamp(millisecondsSinceEpoch: start + 600_000),
            until: until.map { Timestamp(millisecondsSinceEpoch: $0) }, source: .slack)
    }

    @Test func aTakeIsAppliedOnceAndTheNextAlertMentionsTheOwner() throws {
        let metrics = TestMetrics()
        let harness = ProcessorHarness(processor: try Self.processor(metrics))
        let now = Self.start + 48 * 3_600_000
        let first = Self.alerts(harness.process(Self.score(hours: 0, score: 60, offset: 0), now: now))
        let alert = try #require(first.first)
        #expect(alert.mention == "U0CSM")
        let take = Self.click(.take, on: alert, id: "c1")
        _ = harness.process(Self.action(take, offset: 0), now: now)
        _ = harness.process(Self.action(take, offset: 1), now: now)
        #expect(harness.state["acme"]?.actions.lifecycles.first?.owner == "U0TAKER")
        let next = Self.alerts(harness.process(Self.score(hours: 1, score: 30, offset: 1), now: now))
        #expect(next.count == 1 && next.first?.mention == "U0TAKER")
        #expect(try metrics.expectCounter("fleet_evaluator_actions_total", [("outcome", "applied")]).totalValue == 1)
        #expect(try metrics.expectCounter("fleet_evaluator_actions_total", [("outcome", "duplicate")]).totalValue == 1)
    }

    @Test func aResolvedEpisodeIsSuppressedAndCounted() throws {
        let metrics = TestMetrics()
        let harness = ProcessorHarness(processor: try Self.processor(metrics))
        let now = Self.start + 48 * 3_600_000
        let alert = try #require(
            Self.alerts(harness.process(Self.score(hours: 0, score: 60, offset: 0), now: now)).first)
        var resolve = Self.click(.resolve, on: alert, id: "c1")
        resolve.outcome = .falsePositive
        _ = harness.process(Self.action(resolve, offset: 0), now: now)
        // Not sent: written only as a record for the delivery log, marked with its reason.
        let held = Self.alerts(harness.process(Self.score(hours: 1, score: 30, offset: 1), now: now))
        #expect(held.count == 1 && held.allSatisfy { $0.suppressed == "resolved" }, "\(held)")
        #expect(
            try metrics.expectCounter("fleet_evaluator_alerts_suppressed_total", [("reason", "resolved")]).totalValue
                == 1)
    }

    @Test func aSilenceOnEveryAccountIsHonouredAndAnUnreadableActionDeadLettered() throws {
        let metrics = TestMetrics()
        let harness = ProcessorHarness(processor: try Self.processor(metrics))
        let now = Self.start + 48 * 3_600_000
        let silence = AlertActionRecord(
            actionId: "s1", kind: .silence, accountId: "*", by: "dana",
            at: Timestamp(millisecondsSinceEpoch: Self.start),
            until: Timestamp(millisecondsSinceEpoch: Self.start + 86_400_000), silenceId: "s1",
            matchers: SilenceMatchers(tier: .smb), source: .fleetAdmin)
        _ = harness.process(Self.action(silence, offset: 0), now: now)
        let silenced = Self.alerts(harness.process(Self.score("beta", hours: 0, score: 60, offset: 0), now: now))
        #expect(silenced.count == 1 && silenced.allSatisfy { $0.suppressed == "silenced" }, "\(silenced)")
        #expect(
            try metrics.expectCounter("fleet_evaluator_alerts_suppressed_total", [("reason", "silenced")]).totalValue
                == 1)
        // After the silence ends: a new episode of another account alerts.
        let later = Self.alerts(harness.process(Self.score("gamma", hours: 25, score: 60, offset: 1), now: now))
        #expect(later.count == 1 && later.first?.suppressed == nil)
        let bad = ConsumedRecord(
            topic: "alert-actions", partition: 0, offset: 1, key: Array("acme".utf8), value: Array("{}".utf8),
            headers: [], timestamp: nil)
        guard case .rejected(let rejection) = harness.process(bad, now: now) else {
            Issue.record("an unreadable action was not rejected")
            return
        }
        #expect(rejection.code == "invalid_action_record")
    }
}
