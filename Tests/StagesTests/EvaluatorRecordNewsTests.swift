import AlertRules
import Contracts
import Kafka
import MetricsTestKit
import Stages
import Testing
import WorkerRuntime

/// The evaluator counts the score records it skips (repeats, too late) and the late ones it
/// evaluates for their triggers; a skipped record emits nothing and writes no state.
@Suite struct EvaluatorRecordNewsTests {
    static let rulesYAML = """
        version: 1
        rules:
          - name: billing
            type: billing_retry_failed
            when: {trigger: [billing_retry_failed]}
            severity: high
            cooldown: 0
        routes:
          - {destination: team, match: {types: [billing_retry_failed]}}
        destinations:
          team: {}
        """

    static func record(_ invoice: String, at text: String, sequence: Int) -> ConsumedRecord {
        let at = Timestamp(rfc3339: text)!
        let trigger = Trigger(type: .billingRetryFailed, eventId: "e-\(invoice)", occurredAt: at, ref: invoice)
        let score = ScoreRecord(
            accountId: "acme", validAt: at, score: 76, previousScore: 76, delta: 0,
            zone: .healthy, previousZone: .healthy,
            components: FamilyScores(productUsage: 76, engagement: 76, support: 76, commercial: 76), signals: [],
            positiveSignals: [], profile: AccountProfile(tier: .enterprise), triggers: [trigger],
            eventIds: ["e-\(invoice)"], reasons: [.businessEvent], cancellationScheduled: false, sequence: sequence)
        return ConsumedRecord(
            topic: "health-scores", partition: 0, offset: Int64(sequence), key: Array("acme".utf8),
            value: try! RecordCoding.encode(score), headers: [], timestamp: nil)
    }

    static func skipped(_ metrics: TestMetrics, _ reason: String) throws -> Int64 {
        try metrics.expectCounter("fleet_evaluator_score_records_skipped_total", [("reason", reason)]).totalValue
    }

    @Test func repeatsAndTooLateRecordsAreCountedAndEmitNothing() throws {
        let metrics = TestMetrics()
        let engine = RulesEngine(config: try RulesConfig.parse(yaml: Self.rulesYAML, file: "rules.yaml"))
        let processor = EvaluatorProcessor(
            engine: engine, alertsTopic: "alerts", live: false,
            metrics: EvaluatorMetrics(factory: metrics))
        let harness = ProcessorHarness(processor: processor)
        let now = Timestamp(rfc3339: "2026-11-20T17:00:00Z")!.millisecondsSinceEpoch
        func alerts(_ record: ConsumedRecord) -> Int {
            guard case .emitted(let out) = harness.process(record, now: now) else { return -1 }
            return out.count
        }
        let inv77 = Self.record("inv-77", at: "2026-11-20T16:00:00Z", sequence: 1)
        #expect(alerts(inv77) == 1)
        #expect(
            alerts(Self.record("inv-78", at: "2026-11-20T16:00:00Z", sequence: 2)) == 1,
            "same second, another invoice")
        let written = harness.state["acme"]
        #expect(alerts(inv77) == 0, "the first record again")
        #expect(harness.state["acme"] == written, "a repeat writes no state")
        #expect(alerts(Self.record("inv-79", at: "2026-11-20T15:00:00Z", sequence: 3)) == 1, "late, within the window")
        #expect(
            alerts(Self.record("inv-80", at: "2026-10-01T15:00:00Z", sequence: 4)) == 0,
            "older than the 30-day window")
        #expect(try Self.skipped(metrics, "repeat") == 1)
        #expect(try Self.skipped(metrics, "too_late") == 1)
        #expect(try metrics.expectCounter("fleet_evaluator_late_score_records_total").totalValue == 1)
    }
}
