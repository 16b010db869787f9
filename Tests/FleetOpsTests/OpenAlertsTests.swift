import AlertRules
import Contracts
import FleetOps
import Foundation
import Kafka
import Stages
import Testing
import WorkerRuntime

/// `fleet-admin alerts` and `fleet-admin account` without Kafka: the states the evaluator wrote
/// (`OpenAlertsFixture`'s story) turned into rows, filtered, and written as a table and as JSON.
@Suite struct OpenAlertsTests {
    typealias F = OpenAlertsFixture

    @Test func eachOpenEpisodeIsARowWithWhoAnsweredItsSLAAndItsLatestMessage() throws {
        let story = try F.story()
        let rows = OpenAlerts.rows(
            states: story.states, alerts: story.alerts, deliveries: F.deliveries(story), now: F.now)
        // (account, rule, severity, owner, acknowledged by, SLA cell, message destination)
        let expected: [(String, String, Severity, String?, String?, String, String?)] = [
            ("acme", "at-risk", .critical, nil, nil, "BREACHED, escalated 1", "managers"),
            ("gamma", "at-risk", .critical, "U0GINA", "U0GINA", "-", "team"),
            ("beta", "at-risk", .high, nil, nil, "-", nil),
        ]
        #expect(rows.count == expected.count)
        for (row, want) in zip(rows, expected) {
            #expect(row.account == want.0 && row.rule == want.1 && row.severity == want.2, "\(row)")
            #expect(row.owner == want.3 && row.acknowledgedBy == want.4, "\(row)")
            #expect(OpenAlertsText.sla(row.sla) == want.5, "\(row)")
            #expect(row.delivery?.destination == want.6, "\(row)")
        }
        let acme = rows[0]
        #expect(acme.priority == story.alert("acme").priority)
        #expect(acme.openedAt.millisecondsSinceEpoch == F.monday && acme.alertsSent == 1)
        #expect(acme.lastAlertId == story.alert("acme").alertId)
        #expect(acme.delivery?.alertId == story.alert("acme", escalation: true).alertId)
        #expect(acme.sla?.due == story.states["acme"]?.episodeViews.first?.sla?.due)
        #expect(rows[1].acknowledgedAt?.millisecondsSinceEpoch == F.monday + 10 * F.minute)
    }

    @Test(arguments: [
        (OpenAlertsQuery(), ["acme", "gamma", "beta"]),
        (OpenAlertsQuery(account: "gamma"), ["gamma"]),
        (OpenAlertsQuery(rule: "at-risk"), ["acme", "gamma", "beta"]),
        (OpenAlertsQuery(rule: "other"), []),
        (OpenAlertsQuery(severity: .critical), ["acme", "gamma"]),
        (OpenAlertsQuery(severity: .medium), ["acme", "gamma", "beta"]),
        (OpenAlertsQuery(breached: true), ["acme"]),
        (OpenAlertsQuery(includeResolved: true), ["acme", "delta", "gamma", "beta"]),
        (OpenAlertsQuery(account: "delta"), []),
    ])
    func filters(_ query: OpenAlertsQuery, _ accounts: [String]) throws {
        let story = try F.story()
        let rows = OpenAlerts.rows(
            states: story.states, alerts: story.alerts, deliveries: F.deliveries(story), query: query, now: F.now)
        #expect(rows.map(\.account) == accounts)
    }

    @Test func ruleNamesComeFromTheAlertsOrTheRulesFileElseTheKeyIsShown() throws {
        let story = try F.story()
        let bare = OpenAlerts.rows(states: story.states, alerts: [], deliveries: [], now: F.now)
        #expect(bare.first?.rule == "rule#" + String(AlertId.ruleKey("at-risk"), radix: 16))
        #expect(bare.first?.lastAlertId == nil && bare.first?.delivery == nil)
        // Without alerts, the SLA is still known from the clock in the state.
        #expect(bare.first?.sla?.breached == true && bare.first?.sla?.escalations == 1)
        let named = OpenAlerts.rows(
            states: story.states, alerts: [], deliveries: F.deliveries(story), rules: [("at-risk", .customerAtRisk)],
            now: F.now)
        #expect(named.first?.rule == "at-risk" && named.first?.lastAlertId == story.alert("acme").alertId)
        #expect(named.first?.delivery?.destination == "team")
    }

    @Test func aClockDueByNowIsBreachedBeforeTheEvaluatorEscalates() throws {
        let story = try F.story()
        var states = story.states
        states["acme"] = story.acmeBefore
        let early = OpenAlerts.rows(
            states: states, alerts: [], deliveries: [], query: OpenAlertsQuery(account: "acme"),
            now: Timestamp(millisecondsSinceEpoch: F.monday + 3 * F.hour))
        #expect(OpenAlertsText.sla(early.first?.sla) == "due 2026-11-16T13:00:00Z")
        let late = OpenAlerts.rows(
            states: states, alerts: [], deliveries: [], query: OpenAlertsQuery(account: "acme"),
            now: Timestamp(millisecondsSinceEpoch: F.monday + 4 * F.hour))
        #expect(OpenAlertsText.sla(late.first?.sla) == "BREACHED, was due 2026-11-16T13:00:00Z")
    }

    @Test func theTableAndTheJSON() throws {
        let story = try F.story()
        let rows = OpenAlerts.rows(
            states: story.states, alerts: story.alerts, deliveries: F.deliveries(story), now: F.now)
        let priority = story.alert("gamma").priority.rawValue
        #expect(
            OpenAlertsText.cells(rows[1]) == [
                "gamma", "at-risk", "critical", priority, "2026-11-16T09:00:00Z", "1", "U0GINA",
                "U0GINA 2026-11-16T09:10:00Z", "-", "team 2026-11-16T09:00:02Z 200 ok",
            ])
        let table = OpenAlertsText.table(rows).split(separator: "\n").map(String.init)
        #expect(table.count == 5)
        #expect(table[0].hasPrefix("ACCOUNT  RULE     SEVERITY  PRIORITY  OPENED"))
        // Aligned: every row's second column starts where the header's does.
        let column = table[0].range(of: "RULE")!.lowerBound.utf16Offset(in: table[0])
        for line in table[1...3] { #expect(line.dropFirst(column).hasPrefix("at-risk"), "\(line)") }
        #expect(table[4] == "3 open episodes in 3 accounts, 1 past their SLA")
        #expect(OpenAlertsText.table([]) == "0 open episodes in 0 accounts, 0 past their SLA\n")
        #expect(try OpenAlertsText.json([]) == "[]\n")

        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(OpenAlertsText.json(rows).utf8)) as? [[String: Any]])
        #expect(json.count == 3)
        #expect(json[0]["account"] as? String == "acme" && json[0]["severity"] as? String == "critical")
        #expect((json[0]["sla"] as? [String: Any])?["breached"] as? Bool == true)
        #expect((json[0]["delivery"] as? [String: Any])?["destination"] as? String == "managers")
        #expect(
            json[1]["owner"] as? String == "U0GINA" && json[1]["acknowledged_at"] as? String == "2026-11-16T09:10:00Z")
        #expect(json[2]["owner"] == nil && json[2]["sla"] == nil)
    }

    @Test func oneAccountsScoreEpisodesAndRecentAlerts() throws {
        let story = try F.story()
        let older = try RecordCoding.decode(
            ScoreRecord.self, from: F.score("acme", at: F.monday - F.hour, score: 55, offset: 0).value!)
        let latest = try RecordCoding.decode(
            ScoreRecord.self, from: F.score("acme", at: F.monday, score: 30, offset: 1).value!)
        let other = try RecordCoding.decode(
            ScoreRecord.self, from: F.score("beta", at: F.monday, score: 60, offset: 2).value!)
        let view = AccountView.make(
            account: "acme", scores: [latest, older, other], state: story.states["acme"], alerts: story.alerts,
            deliveries: F.deliveries(story), now: F.now)
        #expect(view.score?.score == 30 && view.evaluatedScore == 30)
        #expect(view.openEpisodes.map(\.rule) == ["at-risk"])
        #expect(view.recentAlerts.map(\.destination) == ["managers", "team"])
        #expect(view.recentAlerts.first?.escalationStep == 1)
        #expect(view.recentAlerts.allSatisfy { $0.delivery != nil })
        let text = view.text
        #expect(
            text.hasPrefix("Acme (acme), enterprise, owner U0CSM\nscore 30, zone critical, at 2026-11-16T09:00:00Z\n"))
        #expect(text.contains("  Logins down 62% vs 28-day baseline (impact -18.0)"))
        #expect(text.contains("BREACHED, escalated 1"))
        #expect(text.contains("escalation 1"))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(view.json().utf8)) as? [String: Any])
        #expect((json["score"] as? [String: Any])?["zone"] as? String == "critical")
        #expect((json["recent_alerts"] as? [Any])?.count == 2)

        let unknown = AccountView.make(
            account: "nobody", scores: [other], state: nil, alerts: story.alerts, deliveries: [], now: F.now)
        #expect(
            unknown.text
                == "nobody: no score record on health-scores\n\nno open episodes\n\nno recent alerts on alerts\n")
    }
}

/// The same, read from Kafka the way the command reads it: the evaluator's changelog values in the
/// runtime's frame (with a stale write of an earlier owner, a deleted key, the partition's
/// metadata key and the `*` silences key), `alerts` keyed by destination, the delivery log; all
/// read with `TopicReader`, no consumer group.
@Suite struct OpenAlertsKafkaTests {
    typealias F = OpenAlertsFixture

    @Test func openEpisodesFromTheCompactedTopicsOfTheMockCluster() async throws {
        let story = try F.story()
        let cluster = try MockCluster()
        let changelog = OpsTestKafka.topic("evaluator-state")
        let alertsTopic = OpsTestKafka.topic("alerts")
        let log = OpsTestKafka.topic("alerts-delivered")
        for topic in [changelog, alertsTopic, log] { try cluster.createTopic(topic, partitions: 2) }

        var records: [OutgoingRecord] = []
        let epoch: Int64 = 1_800_000_000_000
        for (account, state) in story.states.sorted(by: { $0.key < $1.key }) {
            let frame = ChangelogEnvelope(epoch: epoch, applied: [0: 3], payload: state.stateBytes)
            records.append(OutgoingRecord(topic: changelog, partition: 0, key: account, value: frame.bytes))
        }
        // An earlier owner's write landing late: a lower epoch, never believed.
        records.append(
            OutgoingRecord(
                topic: changelog, partition: 0, key: "acme",
                value: ChangelogEnvelope(epoch: epoch - 1, payload: story.acmeBefore.stateBytes).bytes))
        // gamma deleted by its owner; the partition's metadata; silences on every account.
        records.append(
            OutgoingRecord(
                topic: changelog, partition: 0, key: "gamma",
                value: ChangelogEnvelope(epoch: epoch, deleted: true, payload: []).bytes))
        records.append(
            OutgoingRecord(
                topic: changelog, partition: 0, key: PartitionMetadata.key,
                value: ChangelogEnvelope(epoch: epoch, payload: [1, 0, 0, 0, 0, 0, 0, 0, 0, 0]).bytes))
        records.append(
            OutgoingRecord(
                topic: changelog, partition: 1, key: "*",
                value: ChangelogEnvelope(epoch: epoch, payload: AccountAlertState().stateBytes).bytes))
        records.append(OutgoingRecord(topic: changelog, partition: 1, key: "junk", value: Array("junk".utf8)))
        for alert in story.alerts {
            records.append(
                OutgoingRecord(topic: alertsTopic, key: alert.destination, value: try RecordCoding.encode(alert)))
        }
        for entry in F.deliveries(story) {
            records.append(
                OutgoingRecord(
                    topic: log, partition: 0, key: "\(entry.alertId)|\(entry.destination)",
                    value: try RecordCoding.encode(entry)))
        }
        try await OpsTestKafka.produce(records, cluster: cluster)

        let config = OpsTestKafka.config(cluster)
        let logger = OpsTestKafka.logger
        let (states, unreadable) = ChangelogSnapshot.values(
            from: try await TopicReader.readAll(topic: changelog, configuration: config, logger: logger),
            skipping: [AlertActionRecord.everyAccount]
        ) { try AccountAlertState(decoding: $0) }
        #expect(unreadable == 1)
        #expect(states.keys.sorted() == ["acme", "beta", "delta", "zeta"])
        #expect(states["acme"] == story.states["acme"])
        let alerts = try await TopicReader.readAll(topic: alertsTopic, configuration: config, logger: logger)
            .compactMap { try? RecordCoding.decode(AlertRecord.self, from: $0.value ?? []) }
        let deliveries = DeliveryLogQuery().entries(
            from: try await TopicReader.readAll(topic: log, configuration: config, logger: logger)
        ).entries
        let rows = OpenAlerts.rows(states: states, alerts: alerts, deliveries: deliveries, now: F.now)
        #expect(rows.map(\.account) == ["acme", "beta"])
        #expect(OpenAlertsText.sla(rows[0].sla) == "BREACHED, escalated 1")
        #expect(rows[0].delivery?.destination == "managers")
    }
}

/// The message cell names a Slack app message's channel and `ts` (the one edited in place).
@Suite struct OpenAlertsMessageCellTests {
    @Test(arguments: [
        (nil as String?, nil as String?, 200, "team 2026-11-01T12:00:00Z 200 ok"),
        ("C0TEAM", "1764000000.000100", 200, "team C0TEAM/1764000000.000100 2026-11-01T12:00:00Z 200 ok"),
        ("C0TEAM", nil, 404, "team 2026-11-01T12:00:00Z 404"),
    ])
    func theCell(channel: String?, ts: String?, status: Int, text: String) {
        let delivery = OpenAlertRow.Delivery(
            alertId: "a1", destination: "team", deliveredAt: Timestamp(millisecondsSinceEpoch: 1_793_534_400_000),
            status: status, retries: 0, channel: channel, ts: ts)
        #expect(OpenAlertsText.message(delivery) == text)
    }
}
