import AlertRules
import Contracts
import Kafka
import MetricsTestKit
import Stages
import Testing
import WorkerRuntime

/// The evaluator escalates an episode nobody acknowledged within its response SLA (issue 24,
/// item 4): by the partition's event time (any account's record moves it) or, live, by the wall
/// clock on its timer; to the chain's steps in turn, up to the cap; not after an acknowledgement;
/// and the clock survives a rebalance (the state on the changelog, the due-time index rebuilt).
@Suite struct EvaluatorEscalationTests {
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
          vp: {}
        sla:
          critical:
            respond_within: 4h
            escalate_to:
              - {destinations: [managers], mentions: [U0MANAGER]}
              - {destinations: [vp], mentions: [U0VP]}
        """
    /// Monday 2026-11-16 09:00 UTC: business hours are Mon-Fri 09:00-17:00 UTC by default.
    static let monday: Int64 = 1_794_819_600_000
    static let hour: Int64 = 3_600_000
    static let wall = monday + 30 * 86_400_000

    static func processor(live: Bool = false, metrics: TestMetrics = TestMetrics()) throws -> EvaluatorProcessor {
        EvaluatorProcessor(
            engine: RulesEngine(config: try RulesConfig.parse(yaml: rulesYAML, file: "rules.yaml")),
            alertsTopic: "alerts", live: live, actionsTopic: "alert-actions",
            lifecycle: LifecycleMetrics(factory: metrics))
    }

    static func score(_ account: String, at: Int64, score: Int, offset: Int64) -> ConsumedRecord {
        EvaluatorActionsTests.score(account, hours: 0, score: score, offset: offset).with(validAt: at)
    }

    static func alerts(_ outcome: ProcessorHarness<EvaluatorProcessor>.Outcome) -> [AlertRecord] {
        EvaluatorActionsTests.alerts(outcome)
    }

    static func decoded(_ records: [OutgoingRecord]) -> [AlertRecord] {
        records.filter { $0.topic == "alerts" }.compactMap {
            try? RecordCoding.decode(AlertRecord.self, from: $0.value ?? [])
        }
    }

    @Test func notAcknowledgedItEscalatesAtTheDueTimeToStepOneThenStepTwoThenStops() throws {
        let harness = ProcessorHarness(processor: try Self.processor())
        let first = Self.alerts(
            harness.process(Self.score("acme", at: Self.monday, score: 30, offset: 0), now: Self.wall))
        #expect(first.map(\.destination) == ["team"])
        // Another account's records move the partition's event time: not yet due at 12:59.
        var offset: Int64 = 1
        func beta(_ at: Int64) -> [AlertRecord] {
            defer { offset += 1 }
            return Self.alerts(harness.process(Self.score("beta", at: at, score: 90, offset: offset), now: Self.wall))
        }
        #expect(beta(Self.monday + 4 * Self.hour - 60_000).isEmpty)
        let step1 = beta(Self.monday + 4 * Self.hour)
        #expect(step1.map(\.destination) == ["managers"] && step1.first?.escalation?.step == 1)
        #expect(step1.first?.mention == "U0MANAGER" && step1.first?.accountId == "acme")
        #expect(beta(Self.monday + 7 * Self.hour).isEmpty)
        let step2 = beta(Self.monday + 8 * Self.hour)
        #expect(step2.map(\.destination) == ["vp"] && step2.first?.escalation?.step == 2)
        #expect(step2.first?.escalation?.of == 2)
        // The cap: nothing more, a week later either.
        #expect(beta(Self.monday + 7 * 24 * Self.hour).isEmpty)
        #expect(harness.state["acme"]?.nextEscalationDue == nil)
    }

    @Test func theAccountsOwnLaterRecordsKeepItsClock() throws {
        let harness = ProcessorHarness(processor: try Self.processor())
        for (i, (minutes, score)) in [(0, 30), (60, 28), (120, 31), (180, 29)].enumerated() {
            let at = Self.monday + Int64(minutes) * 60_000
            _ = harness.process(Self.score("acme", at: at, score: score, offset: Int64(i)), now: Self.wall)
        }
        #expect(harness.state["acme"]?.nextEscalationDue?.millisecondsSinceEpoch == Self.monday + 4 * Self.hour)
        let out = Self.alerts(
            harness.process(Self.score("acme", at: Self.monday + 4 * Self.hour, score: 30, offset: 4), now: Self.wall))
        #expect(out.map(\.destination) == ["managers"] && out.first?.escalation?.step == 1)
    }

    @Test func acknowledgedBeforeTheDueTimeNothingEscalates() throws {
        let harness = ProcessorHarness(processor: try Self.processor())
        let alert = try #require(
            Self.alerts(harness.process(Self.score("acme", at: Self.monday, score: 30, offset: 0), now: Self.wall))
                .first)
        let ack = EvaluatorActionsTests.click(.acknowledge, on: alert, id: "c1")
        _ = harness.process(EvaluatorActionsTests.action(ack, offset: 0), now: Self.wall)
        #expect(harness.state["acme"]?.nextEscalationDue == nil)
        for (i, hours) in [4, 8, 48].enumerated() {
            let out = harness.process(
                Self.score("beta", at: Self.monday + Int64(hours) * Self.hour, score: 90, offset: Int64(i) + 1),
                now: Self.wall)
            #expect(Self.alerts(out).isEmpty)
        }
    }

    @Test func theClockSurvivesARebalance() throws {
        let before = ProcessorHarness(processor: try Self.processor())
        _ = before.process(Self.score("acme", at: Self.monday, score: 30, offset: 0), now: Self.wall)
        let bytes = try #require(before.state["acme"]?.stateBytes)
        // The new owner restores the changelog value, then is assigned the partition.
        let after = ProcessorHarness(processor: try Self.processor())
        after.context.state["acme"] = try AccountAlertState(stateBytes: bytes)
        after.processor.partitionAssigned(context: after.context)
        let out = Self.alerts(
            after.process(Self.score("beta", at: Self.monday + 5 * Self.hour, score: 90, offset: 1), now: Self.wall))
        #expect(out.map(\.destination) == ["managers"] && out.first?.escalation?.step == 1)
    }

    @Test func liveTheTimerEscalatesByTheWallClock() throws {
        let harness = ProcessorHarness(processor: try Self.processor(live: true))
        _ = harness.process(
            Self.score("acme", at: Self.monday, score: 30, offset: 0), now: Self.monday + 60_000)
        #expect(Self.decoded(harness.tick(now: Self.monday + 3 * Self.hour)).isEmpty)
        let out = Self.decoded(harness.tick(now: Self.monday + 4 * Self.hour + 1000))
        #expect(
            out.map(\.destination) == ["managers"]
                && out.first?.raisedAt.millisecondsSinceEpoch == Self.monday + 4 * Self.hour)
    }
}

extension ConsumedRecord {
    /// The same score record at another event time.
    fileprivate func with(validAt: Int64) -> ConsumedRecord {
        guard var score = try? RecordCoding.decode(ScoreRecord.self, from: value ?? []) else { return self }
        score.validAt = Timestamp(millisecondsSinceEpoch: validAt)
        return ConsumedRecord(
            topic: topic, partition: partition, offset: offset, key: key, value: try! RecordCoding.encode(score),
            headers: headers, timestamp: timestamp)
    }
}
