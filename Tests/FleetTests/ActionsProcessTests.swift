import Contracts
import Foundation
import Kafka
import SlackDelivery
import TestSupport
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The alert lifecycle on the real executables (issue 24): an alert delivered with its buttons, a
/// signed "I'll take it" sent to the dispatcher's `/slack/actions` as Slack would send it, the
/// evaluator killed with SIGKILL right after the click and restarted, and the episode's next alert
/// mentioning the person who took it. A forged signature and a stale timestamp are refused with
/// 401 and counted; a replayed click is answered and recorded once.
@Suite(.serialized) struct ActionsProcessTests {
    static let secret = "process-test-slack-signing-secret-0123"
    static let verifier = SlackRequestVerifier(secret: SigningSecret(secret))

    static let rules = """
        version: 1
        rules:
          - name: at-risk
            type: customer_at_risk
            when: {zone_in: [at_risk, critical]}
            severity: high
            severity_by_zone: {critical: critical}
        routes:
          - {destination: act, match: {types: [customer_at_risk, recovered]}}
        destinations:
          act: {}
        """

    static func score(_ account: String, at ms: Int64, score: Int) -> ScoreRecord {
        let d = Double(score)
        return ScoreRecord(
            accountId: account, validAt: Timestamp(millisecondsSinceEpoch: ms), score: score, previousScore: nil,
            delta: 0, zone: score >= 70 ? .healthy : score >= 40 ? .atRisk : .critical, previousZone: nil,
            components: FamilyScores(productUsage: d, engagement: d, support: d, commercial: d),
            signals: [], positiveSignals: [],
            profile: AccountProfile(
                name: "Acme", tier: .enterprise, mrr: 1000, owner: "U0CSM", url: "https://crm.example.com/acme"),
            triggers: [], eventIds: [], reasons: [.scoreStep], cancellationScheduled: false)
    }

    @Test func aSignedTakeSurvivesAnEvaluatorKillAndTheNextAlertMentionsTheOwner() async throws {
        let fleet = try await FleetHarness(destinations: ["act"])
        let rulesPath = fleet.directory.appendingPathComponent("rules.yaml").path
        try Self.rules.write(toFile: rulesPath, atomically: true, encoding: .utf8)
        let evaluatorEnv = fleet.env(["RULES_FILE": rulesPath])
        var evaluator = try StageProcess("evaluator", env: evaluatorEnv)
        defer { evaluator.stopWithoutWaiting() }
        let dispatcher = try StageProcess(
            "dispatcher",
            env: fleet.dispatcherEnv(["SLACK_SIGNING_SECRET": Self.secret, "FEEDBACK_PORT": "0"]))
        defer { dispatcher.stopWithoutWaiting() }
        let httpPort = try #require(await dispatcher.httpPort(timeout: .seconds(30)), "\(dispatcher.log.suffix(2000))")
        let actionsPort = try #require(
            await FeedbackProcessTests.feedbackPort(dispatcher),
            "no feedback port logged:\n\(dispatcher.log.suffix(2000))")

        // The account enters at_risk: one alert, delivered with the lifecycle buttons.
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let producer = try fleet.producer()
        func send(_ record: ScoreRecord) async throws {
            _ = try await producer.send(
                OutgoingRecord(
                    topic: fleet.prefix + "health-scores", key: record.accountId, value: try RecordCoding.encode(record)
                ))
        }
        try await send(Self.score("acct-act", at: now - 7_200_000, score: 60))
        let first = await fleet.waitUntil(timeout: .seconds(60), watching: [evaluator, dispatcher]) {
            !fleet.sink.requests(path: fleet.path("act")).isEmpty
        }
        #expect(first, "no alert delivered:\n\(evaluator.log.suffix(1500))\n\(dispatcher.log.suffix(1500))")
        let body = try #require(fleet.sink.requests(path: fleet.path("act")).first?.body)
        let value = try #require(
            Self.buttonValue("alert_take", in: body), "no take button: \(String(decoding: body, as: UTF8.self))")
        let target = try RecordCoding.decode(AlertActionsBlock.Target.self, from: Array(value.utf8))
        #expect(target.accountId == "acct-act" && target.destination == "act" && target.rule == "at-risk")

        // Slack's part: the signed click.
        let click = SlackInteraction(
            userId: "U0TAKER", teamId: "T0TEST", action: .take, actionTs: "\(now / 1000).000100", target: target)
        let nowSeconds = now / 1000
        let signed = click.signedRequest(by: Self.verifier, at: nowSeconds)
        let url = "http://127.0.0.1:\(actionsPort)/slack/actions"
        let answer = try await Self.post(url, body: signed.body, headers: signed.headers)
        #expect(answer.status == 200, "click: \(answer.status) \(answer.body)\n\(dispatcher.log.suffix(1500))")
        // Killed at once, before or after it applied the click: either way nothing is lost.
        await evaluator.killHard()

        // A replay of the same request: answered, not recorded again. A forged and a stale one: 401.
        #expect(try await Self.post(url, body: signed.body, headers: signed.headers).status == 200)
        let forger = SlackRequestVerifier(secret: SigningSecret("not-the-signing-secret-0123456789ab"))
        let forged = click.signedRequest(by: forger, at: nowSeconds)
        #expect(try await Self.post(url, body: forged.body, headers: forged.headers).status == 401)
        let stale = click.signedRequest(by: Self.verifier, at: nowSeconds - 600)
        #expect(try await Self.post(url, body: stale.body, headers: stale.headers).status == 401)
        let actions = try await fleet.read("alert-actions", partitions: 12, timeout: .seconds(10)) { $0.count >= 1 }
        #expect(actions.count == 1)
        let record = try RecordCoding.decode(AlertActionRecord.self, from: actions.first?.value ?? [])
        #expect(record.kind == .take && record.by == "U0TAKER" && record.alertId == target.alertId)
        #expect(actions.first?.key.map { String(decoding: $0, as: UTF8.self) } == "acct-act")
        #expect(try fleet.size("alert-actions", partitions: 12) == 1, "the replay wrote a second record")
        let metrics = try await FeedbackProcessTests.get("http://127.0.0.1:\(httpPort)/metrics").body
        #expect(metrics.contains(#"fleet_slack_signatures_refused_total{reason="bad_signature"} 1"#), "\(metrics)")
        #expect(metrics.contains(#"fleet_slack_signatures_refused_total{reason="stale"} 1"#))
        #expect(metrics.contains(#"fleet_slack_actions_total{outcome="replayed"} 1"#))

        // The evaluator restarted has the click (from its changelog, or read again from alert-actions:
        // its group commits the record only once the state holding it is on the changelog).
        // Kafka orders records within a partition only, so the click is awaited before the next
        // score is written (docs/actions.md, "Ordering").
        evaluator = try StageProcess("evaluator", env: evaluatorEnv)
        let applied = await fleet.waitUntil(timeout: .seconds(60), watching: [evaluator]) {
            try fleet.committed(group: "evaluator", topic: "alert-actions", partitions: 12) >= 1
        }
        #expect(applied, "the click was not applied after the restart:\n\(evaluator.log.suffix(2000))")
        // The account turns critical: the episode's next alert carries the owner.
        try await send(Self.score("acct-act", at: now - 3_600_000, score: 30))
        await producer.shutdown()
        let second = await fleet.waitUntil(timeout: .seconds(90), watching: [evaluator, dispatcher]) {
            fleet.sink.requests(path: fleet.path("act")).count >= 2
        }
        #expect(second, "no second alert:\n\(evaluator.log.suffix(2000))")
        let bodies = fleet.sink.requests(path: fleet.path("act")).map { String(decoding: $0.body, as: UTF8.self) }
        #expect(bodies.count == 2, "one alert per step, none twice: \(bodies.count)")
        #expect(
            bodies.last?.contains("<@U0TAKER>") == true,
            "the owner is not mentioned: \(bodies.last ?? "")\n\(evaluator.log.suffix(4000))")
        #expect(bodies.first?.contains("<@U0TAKER>") == false)
        for process in [evaluator, dispatcher] {
            #expect(!process.log.contains(Self.secret), "the secret appeared in the log")
        }
        #expect(!metrics.contains(Self.secret))
        #expect(await evaluator.stop() == 0)
        #expect(await dispatcher.stop() == 0)
        await fleet.shutdown()
    }

    /// The `value` of the button `actionId` in a message body.
    static func buttonValue(_ actionId: String, in body: [UInt8]) -> String? {
        var found: String?
        func walk(_ value: Any) {
            if let o = value as? [String: Any] {
                if o["action_id"] as? String == actionId, let v = o["value"] as? String { found = v }
                o.values.forEach(walk)
            }
            if let a = value as? [Any] { a.forEach(walk) }
        }
        if let json = try? JSONSerialization.jsonObject(with: Data(body)) { walk(json) }
        return found
    }

    static func post(_ url: String, body: [UInt8], headers: [String: String]) async throws -> (
        status: Int, body: String
    ) {
        let session = URLSession(configuration: .ephemeral)
        defer { session.finishTasksAndInvalidate() }
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = "POST"
        request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "content-type")
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        request.httpBody = Data(body)
        let (data, response) = try await session.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }
}
