import Contracts
import Foundation
import Kafka
import TestSupport
import Testing

/// Response SLAs on the real executables (issue 24, item 4): two accounts turn critical under a
/// short SLA (30 s of business hours that run all day); one is acknowledged in time (an
/// `alert-actions` record, as the dispatcher writes for a click), the other is not. The evaluator
/// is killed with SIGKILL while both clocks run and restarted: the unacknowledged episode escalates
/// once to the chain's destination, the acknowledged one never does.
@Suite(.serialized) struct EscalationProcessTests {
    static let rules = """
        version: 1
        rules:
          - name: at-risk
            type: customer_at_risk
            when: {zone_in: [at_risk, critical]}
            severity: high
            severity_by_zone: {critical: critical}
        routes:
          - {destination: act, match: {types: [customer_at_risk]}}
        destinations:
          act:
            business_hours: {days: every_day, from: "00:00", to: "24:00"}
          boss: {}
        sla:
          critical:
            respond_within: 30s
            escalate_to:
              - {destinations: [boss], mentions: [U0BOSS]}
        """

    @Test func anUnacknowledgedAlertEscalatesAfterAKillAndAnAcknowledgedOneDoesNot() async throws {
        let fleet = try await FleetHarness(destinations: ["act", "boss"])
        let rulesPath = fleet.directory.appendingPathComponent("rules.yaml").path
        try Self.rules.write(toFile: rulesPath, atomically: true, encoding: .utf8)
        let evaluatorEnv = fleet.env(["RULES_FILE": rulesPath, "TICK_INTERVAL_MS": "200"])
        var evaluator = try StageProcess("evaluator", env: evaluatorEnv)
        defer { evaluator.stopWithoutWaiting() }
        let dispatcher = try StageProcess("dispatcher", env: fleet.dispatcherEnv())
        defer { dispatcher.stopWithoutWaiting() }

        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let producer = try fleet.producer()
        func send(topic: String, key: String, value: [UInt8]) async throws {
            _ = try await producer.send(OutgoingRecord(topic: fleet.prefix + topic, key: key, value: value))
        }
        for account in ["acct-esc", "acct-ack"] {
            var record = ActionsProcessTests.score(account, at: now, score: 30)
            record.profile.name = account
            try await send(topic: "health-scores", key: account, value: try RecordCoding.encode(record))
        }
        let both = await fleet.waitUntil(timeout: .seconds(60), watching: [evaluator, dispatcher]) {
            fleet.sink.requests(path: fleet.path("act")).count >= 2
        }
        #expect(both, "alerts not delivered:\n\(evaluator.log.suffix(1500))\n\(dispatcher.log.suffix(1500))")
        let bodies = fleet.sink.requests(path: fleet.path("act")).map(\.body)
        let ackBody = try #require(bodies.first { String(decoding: $0, as: UTF8.self).contains("acct-ack") })
        let ackId = try #require(FleetHarness.alertIds(in: ackBody).first)

        // The acknowledgement, as the dispatcher records a click; applied before the 30 s are up.
        let ack = AlertActionRecord(
            actionId: "ack-1", kind: .acknowledge, accountId: "acct-ack", alertId: ackId, rule: "at-risk",
            destination: "act", by: "U0CSM", at: Timestamp(millisecondsSinceEpoch: now + 1000), source: .slack)
        try await send(topic: "alert-actions", key: "acct-ack", value: try RecordCoding.encode(ack))
        let applied = await fleet.waitUntil(timeout: .seconds(20), watching: [evaluator]) {
            try fleet.committed(group: "evaluator", topic: "alert-actions", partitions: 12) >= 1
        }
        #expect(applied, "the acknowledgement was not applied:\n\(evaluator.log.suffix(2000))")
        await producer.shutdown()
        #expect(fleet.sink.requests(path: fleet.path("boss")).isEmpty, "escalated before the SLA")

        // Killed while both clocks run: the restarted evaluator has them from its changelog.
        await evaluator.killHard()
        evaluator = try StageProcess("evaluator", env: evaluatorEnv)
        let escalated = await fleet.waitUntil(timeout: .seconds(90), watching: [evaluator, dispatcher]) {
            !fleet.sink.requests(path: fleet.path("boss")).isEmpty
        }
        #expect(escalated, "no escalation:\n\(evaluator.log.suffix(2000))\n\(dispatcher.log.suffix(1500))")
        // An absence cannot be awaited: watch until 10 s past both due times (the SLA is 30 s) for a
        // second escalation, which would end the wait at once; none may come, none for acct-ack.
        let quietUntil = now + 40_000 - Int64(Date().timeIntervalSince1970 * 1000)
        let second = await fleet.waitUntil(timeout: .milliseconds(max(0, quietUntil)), watching: [evaluator]) {
            fleet.sink.requests(path: fleet.path("boss")).count > 1
        }
        let escalations = fleet.sink.requests(path: fleet.path("boss")).map { String(decoding: $0.body, as: UTF8.self) }
        #expect(!second && escalations.count == 1, "escalations 10 s past both due times: \(escalations)")
        #expect(escalations.first?.contains("acct-esc") == true && escalations.first?.contains("acct-ack") == false)
        #expect(escalations.first?.contains("Escalation 1 of 1") == true)
        #expect(escalations.first?.contains("<@U0BOSS>") == true)
        #expect(fleet.sink.requests(path: fleet.path("act")).count == 2, "no alert twice")
        #expect(await evaluator.stop() == 0)
        #expect(await dispatcher.stop() == 0)
        await fleet.shutdown()
    }
}
