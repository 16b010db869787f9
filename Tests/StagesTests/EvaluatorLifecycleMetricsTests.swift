import AlertRules
import Contracts
import Kafka
import MetricsTestKit
import Stages
import Testing
import WorkerRuntime

/// The lifecycle metrics of issue 24 (item 7), driven through the evaluator's processor with the
/// time given to each record: time to acknowledge per priority (from the episode's first alert to
/// its first acknowledge or take), SLA breaches per priority (once per episode), open episodes by
/// severity (recomputed from the state on assignment and revocation, never drifting), and outcomes
/// by rule. No label names an account.
@Suite struct EvaluatorLifecycleMetricsTests {
    static let monday = EvaluatorEscalationTests.monday
    static let hour = EvaluatorEscalationTests.hour
    static let wall = EvaluatorEscalationTests.wall

    static func score(_ account: String, at: Int64, score: Int, offset: Int64, partition: Int32 = 0)
        -> ConsumedRecord
    {
        let d = Double(score)
        let record = ScoreRecord(
            accountId: account, validAt: Timestamp(millisecondsSinceEpoch: at), score: score, previousScore: nil,
            delta: 0, zone: score >= 70 ? .healthy : score >= 40 ? .atRisk : .critical, previousZone: nil,
            components: FamilyScores(productUsage: d, engagement: d, support: d, commercial: d), signals: [],
            positiveSignals: [], profile: AccountProfile(tier: .smb, owner: "U0CSM"), triggers: [], eventIds: [],
            reasons: [.scoreStep], cancellationScheduled: false)
        return ConsumedRecord(
            topic: "health-scores", partition: partition, offset: offset, key: Array(account.utf8),
            value: try! RecordCoding.encode(record), headers: [], timestamp: nil)
    }

    static func click(_ kind: AlertActionKind, on alert: AlertRecord, id: String, at: Int64) -> ConsumedRecord {
        var action = EvaluatorActionsTests.click(kind, on: alert, id: id)
        action.at = Timestamp(millisecondsSinceEpoch: at)
        action.by = "U0ACK"
        if kind == .resolve { action.outcome = .falsePositive }
        return EvaluatorActionsTests.action(action, offset: 0)
    }

    static func open(_ metrics: TestMetrics, _ severity: Severity) throws -> Double? {
        try metrics.expectGauge("fleet_evaluator_open_episodes", [("severity", severity.rawValue)]).lastValue
    }

    @Test func timeToAcknowledgeIsFromTheFirstAlertToTheFirstAcknowledgementPerPriority() throws {
        let metrics = TestMetrics()
        let harness = ProcessorHarness(processor: try EvaluatorEscalationTests.processor(metrics: metrics))
        let alert = try #require(
            EvaluatorActionsTests.alerts(
                harness.process(Self.score("acme", at: Self.monday, score: 30, offset: 0), now: Self.wall)
            ).first)
        // A repeat of the episode (worse) does not move its first alert's time.
        _ = harness.process(Self.score("acme", at: Self.monday + 60_000, score: 10, offset: 1), now: Self.wall)
        _ = harness.process(Self.click(.acknowledge, on: alert, id: "c1", at: Self.monday + 600_000), now: Self.wall)
        // A take after the acknowledgement, and the same click again: not timed again.
        _ = harness.process(Self.click(.take, on: alert, id: "c2", at: Self.monday + 900_000), now: Self.wall)
        _ = harness.process(Self.click(.acknowledge, on: alert, id: "c1", at: Self.monday + 600_000), now: Self.wall)
        let timer = try metrics.expectTimer(
            "fleet_evaluator_time_to_acknowledge_seconds", [("priority", alert.priority.rawValue)])
        #expect(timer.values == [600 * 1_000_000_000])
        #expect(harness.state["acme"]?.episodeViews.first?.lifecycle?.owner == "U0ACK")
    }

    @Test func aTakeAloneIsTheAcknowledgement() throws {
        let metrics = TestMetrics()
        let harness = ProcessorHarness(processor: try EvaluatorEscalationTests.processor(metrics: metrics))
        let alert = try #require(
            EvaluatorActionsTests.alerts(
                harness.process(Self.score("acme", at: Self.monday, score: 30, offset: 0), now: Self.wall)
            ).first)
        _ = harness.process(Self.click(.take, on: alert, id: "t1", at: Self.monday + 2 * Self.hour), now: Self.wall)
        let timer = try metrics.expectTimer(
            "fleet_evaluator_time_to_acknowledge_seconds", [("priority", alert.priority.rawValue)])
        #expect(timer.values == [7200 * 1_000_000_000])
    }

    @Test func anSLABreachIsCountedOncePerEpisodeByPriority() throws {
        let metrics = TestMetrics()
        let harness = ProcessorHarness(processor: try EvaluatorEscalationTests.processor(metrics: metrics))
        let alert = try #require(
            EvaluatorActionsTests.alerts(
                harness.process(Self.score("acme", at: Self.monday, score: 30, offset: 0), now: Self.wall)
            ).first)
        let priority = alert.priority.rawValue
        // Another account's records move the partition's event time past both escalations.
        _ = harness.process(
            Self.score("beta", at: Self.monday + 4 * Self.hour - 1, score: 90, offset: 1), now: Self.wall)
        #expect((try? metrics.expectCounter("fleet_evaluator_sla_breaches_total", [("priority", priority)])) == nil)
        _ = harness.process(Self.score("beta", at: Self.monday + 4 * Self.hour, score: 90, offset: 2), now: Self.wall)
        _ = harness.process(Self.score("beta", at: Self.monday + 8 * Self.hour, score: 90, offset: 3), now: Self.wall)
        #expect(
            try metrics.expectCounter("fleet_evaluator_sla_breaches_total", [("priority", priority)]).totalValue == 1)
        // An episode acknowledged in time does not breach.
        let gamma = try #require(
            EvaluatorActionsTests.alerts(
                harness.process(
                    Self.score("gamma", at: Self.monday + 9 * Self.hour, score: 30, offset: 4), now: Self.wall)
            ).first)
        var ack = EvaluatorActionsTests.click(.acknowledge, on: gamma, id: "g1")
        ack.at = Timestamp(millisecondsSinceEpoch: Self.monday + 9 * Self.hour + 60_000)
        _ = harness.process(EvaluatorActionsTests.action(ack, offset: 1), now: Self.wall)
        _ = harness.process(Self.score("beta", at: Self.monday + 72 * Self.hour, score: 90, offset: 5), now: Self.wall)
        #expect(
            try metrics.expectCounter("fleet_evaluator_sla_breaches_total", [("priority", priority)]).totalValue == 1)
    }

    @Test func openEpisodesBySeverityFollowTheStateAcrossResolutionsAndRebalances() throws {
        let metrics = TestMetrics()
        let processor = try EvaluatorEscalationTests.processor(metrics: metrics)
        let p0 = ProcessorHarness(processor: processor, partition: 0)
        let p1 = ProcessorHarness(processor: processor, partition: 1)
        let acme = try #require(
            EvaluatorActionsTests.alerts(
                p0.process(Self.score("acme", at: Self.monday, score: 30, offset: 0), now: Self.wall)
            ).first)
        _ = p0.process(Self.score("beta", at: Self.monday, score: 60, offset: 1), now: Self.wall)
        _ = p1.process(Self.score("gamma", at: Self.monday, score: 20, offset: 0, partition: 1), now: Self.wall)
        // The same records again (a redelivery) and later ones of the same episodes: no drift.
        _ = p0.process(Self.score("acme", at: Self.monday, score: 30, offset: 0), now: Self.wall)
        _ = p1.process(
            Self.score("gamma", at: Self.monday + 60_000, score: 22, offset: 1, partition: 1), now: Self.wall)
        #expect(try Self.open(metrics, .critical) == 2)
        #expect(try Self.open(metrics, .high) == 1)
        #expect(try Self.open(metrics, .low) == 0)

        // Resolved: no longer open, and its outcome counted by rule.
        _ = p0.process(Self.click(.resolve, on: acme, id: "r1", at: Self.monday + 600_000), now: Self.wall)
        #expect(try Self.open(metrics, .critical) == 1)
        #expect(
            try metrics.expectCounter(
                "fleet_evaluator_outcomes_total", [("rule", "at-risk"), ("outcome", "false_positive")]
            ).totalValue == 1)

        // Partition 1 revoked: its episodes leave the count; a new owner restores them from the
        // changelog value and counts them again.
        let gammaBytes = try #require(p1.state["gamma"]?.stateBytes)
        processor.partitionRevoked(context: p1.context)
        #expect(try Self.open(metrics, .critical) == 0)
        #expect(try Self.open(metrics, .high) == 1)
        let restored = ProcessorHarness(processor: processor, partition: 1)
        restored.context.state["gamma"] = try AccountAlertState(stateBytes: gammaBytes)
        restored.processor.partitionAssigned(context: restored.context)
        #expect(try Self.open(metrics, .critical) == 1)

        // An episode that closes (the account recovers) leaves the count.
        _ = p0.process(Self.score("beta", at: Self.monday + Self.hour, score: 90, offset: 2), now: Self.wall)
        #expect(try Self.open(metrics, .high) == 0)
        // Its lifecycle (kept from its first alert on) goes with it.
        #expect(p0.state["beta"]?.actions.lifecycles.isEmpty == true)
        #expect(p0.state["acme"]?.actions.lifecycles.first?.alertedAt?.millisecondsSinceEpoch == Self.monday)
    }
}
