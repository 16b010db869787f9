import Contracts
import Foundation
import Kafka
import SlackDelivery
import SlackSink
import TestSupport
import Testing

/// Update in place on the real executables (issue 24): an alert posted to a Slack app channel, a
/// signed "I'll take it", the dispatcher killed with SIGKILL right after the click and restarted,
/// and the original message edited (`chat.update`) to say who took it; the episode's next alert a
/// reply in the message's thread; the recovery edits the message again and replies in the thread.
/// Nothing is posted twice.
@Suite(.serialized) struct MessageUpdateProcessTests {
    static let rules = """
        version: 1
        rules:
          - name: at-risk
            type: customer_at_risk
            when: {zone_in: [at_risk, critical]}
            severity: high
            severity_by_zone: {critical: critical}
          - name: back
            type: recovered
            when: {episode_ended: at-risk}
            severity: low
        routes:
          - {destination: app, match: {types: [customer_at_risk, recovered]}}
        destinations:
          app: {}
        """

    @Test func aTakeEditsTheMessageFollowUpsReplyInItsThreadAndTheRecoveryClosesIt() async throws {
        let fleet = try await FleetHarness(destinations: ["app"], slackApp: true)
        let rulesPath = fleet.directory.appendingPathComponent("rules.yaml").path
        try Self.rules.write(toFile: rulesPath, atomically: true, encoding: .utf8)
        let evaluator = try StageProcess("evaluator", env: fleet.env(["RULES_FILE": rulesPath]))
        defer { evaluator.stopWithoutWaiting() }
        let dispatcherEnv = fleet.dispatcherEnv([
            "SLACK_SIGNING_SECRET": ActionsProcessTests.secret, "FEEDBACK_PORT": "0",
        ])
        var dispatcher = try StageProcess("dispatcher", env: dispatcherEnv)
        defer { dispatcher.stopWithoutWaiting() }
        let actionsPort = try #require(
            await FeedbackProcessTests.feedbackPort(dispatcher),
            "no feedback port logged:\n\(dispatcher.log.suffix(2000))")
        let channel = FleetHarness.channel("app")
        func top() -> [StoredMessage] { fleet.sink.storedMessages().filter { $0.threadTS == nil } }
        func replies() -> [StoredMessage] { fleet.sink.storedMessages().filter { $0.threadTS != nil } }
        func text(_ m: StoredMessage?) -> String { m.map { String(decoding: $0.body, as: UTF8.self) } ?? "" }

        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let producer = try fleet.producer()
        func send(_ score: Int, at ms: Int64, account: String = "acct-app") async throws {
            let record = ActionsProcessTests.score(account, at: ms, score: score)
            _ = try await producer.send(
                OutgoingRecord(
                    topic: fleet.prefix + "health-scores", key: record.accountId, value: try RecordCoding.encode(record)
                ))
        }
        // The account enters at_risk: one message in the channel, with the lifecycle buttons.
        try await send(60, at: now - 7_200_000)
        let posted = await fleet.waitUntil(timeout: .seconds(60), watching: [evaluator, dispatcher]) {
            !top().isEmpty
        }
        #expect(posted, "no alert posted:\n\(evaluator.log.suffix(1500))\n\(dispatcher.log.suffix(1500))")
        let opening = try #require(top().first)
        #expect(opening.channel == channel)
        let value = try #require(
            ActionsProcessTests.buttonValue("alert_take", in: opening.body), "no take button: \(text(opening))")
        let target = try RecordCoding.decode(AlertActionsBlock.Target.self, from: Array(value.utf8))

        // Slack's part: the signed click; then the dispatcher dies at once and comes back.
        let click = SlackInteraction(
            userId: "U0TAKER", teamId: "T0TEST", action: .take, actionTs: "\(now / 1000).000100", target: target)
        let signed = click.signedRequest(by: ActionsProcessTests.verifier, at: now / 1000)
        let answer = try await ActionsProcessTests.post(
            "http://127.0.0.1:\(actionsPort)/slack/actions", body: signed.body, headers: signed.headers)
        #expect(answer.status == 200, "click: \(answer.status) \(answer.body)")
        await dispatcher.killHard()
        dispatcher = try StageProcess("dispatcher", env: dispatcherEnv)

        // The original message now says who took it: edited in place, not posted again.
        let taken = await fleet.waitUntil(timeout: .seconds(90), watching: [evaluator, dispatcher]) {
            (top().first?.edits ?? 0) >= 1
        }
        #expect(taken, "the message was not edited:\n\(evaluator.log.suffix(2000))\n\(dispatcher.log.suffix(2000))")
        let edited = text(top().first)
        #expect(edited.contains("*Taken* by <@U0TAKER>"), "no state line: \(edited)")
        #expect(top().count == 1, "the edit was posted as a new message")

        // The account turns critical: the episode's next alert is a reply in the message's thread.
        try await send(30, at: now - 3_600_000)
        let replied = await fleet.waitUntil(timeout: .seconds(60), watching: [evaluator, dispatcher]) {
            !replies().isEmpty
        }
        #expect(replied, "no reply:\n\(evaluator.log.suffix(2000))\n\(dispatcher.log.suffix(2000))")
        #expect(replies().first?.threadTS == opening.ts)
        #expect(text(replies().first).contains("<@U0TAKER>"), "the reply does not mention the owner")

        // It recovers: the message is edited to say so, quiet, without buttons; the recovery replies.
        try await send(85, at: now - 1_800_000)
        let closed = await fleet.waitUntil(timeout: .seconds(60), watching: [evaluator, dispatcher]) {
            text(top().first).contains("*Recovered*") && replies().count >= 2
        }
        let final = text(top().first)
        #expect(closed, "not closed: \(final)\n\(dispatcher.log.suffix(2000))")
        #expect(final.contains(AlertColor.closed.rawValue) && !final.contains("alert_take"), "\(final)")
        #expect(replies().allSatisfy { $0.threadTS == opening.ts })
        #expect(top().count == 1 && replies().count == 2, "top \(top().count), replies \(replies().count)")
        let perId = fleet.postedToChannels()[channel] ?? [:]
        #expect(perId.values.allSatisfy { $0 == 1 }, "an alert posted twice: \(perId)")

        // A silence on another account, then it slips: its alert is recorded in the delivery log as
        // silenced, and nothing is posted.
        let silence = AlertActionRecord(
            actionId: "silence-1", kind: .silence, accountId: "acct-quiet", by: "dana",
            at: Timestamp(millisecondsSinceEpoch: now - 1_800_000),
            until: Timestamp(millisecondsSinceEpoch: now + 86_400_000), silenceId: "s-1",
            matchers: SilenceMatchers(account: "acct-quiet"), reason: "migration week", source: .fleetAdmin)
        _ = try await producer.send(
            OutgoingRecord(
                topic: fleet.prefix + "alert-actions", key: "acct-quiet", value: try RecordCoding.encode(silence)))
        let applied = await fleet.waitUntil(timeout: .seconds(60), watching: [evaluator]) {
            try fleet.committed(group: "evaluator", topic: "alert-actions", partitions: 12) >= 2
        }
        #expect(applied, "the silence was not applied:\n\(evaluator.log.suffix(2000))")
        let postedBefore = fleet.sink.storedMessages().count
        try await send(50, at: now - 600_000, account: "acct-quiet")
        await producer.shutdown()
        func suppressed(_ records: [ConsumedRecord]) -> [DeliveryLogEntry] {
            records.compactMap { try? RecordCoding.decode(DeliveryLogEntry.self, from: $0.value ?? []) }
                .filter { $0.suppressed != nil }
        }
        let recorded = suppressed(
            try await fleet.read("alerts-delivered", partitions: 12, timeout: .seconds(60)) { !suppressed($0).isEmpty })
        #expect(!recorded.isEmpty, "no silenced alert in the delivery log:\n\(dispatcher.log.suffix(2000))")
        #expect(recorded.allSatisfy { $0.suppressed == "silenced" && $0.status == 0 }, "\(recorded)")
        #expect(fleet.sink.storedMessages().count == postedBefore, "a silenced alert was posted")
        #expect(await evaluator.stop() == 0)
        #expect(await dispatcher.stop() == 0)
        await fleet.shutdown()
    }
}
