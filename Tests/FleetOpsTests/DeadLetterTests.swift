import Contracts
import FleetOps
import Foundation
import Kafka
import Stages
import Testing
import WorkerRuntime

/// `fleet-admin dlt inspect|replay` against the mock cluster: dead letters written through the
/// runtime's one dead-letter path, read back, filtered and re-driven.
@Suite struct DeadLetterTests {
    /// Three dead letters as the stages write them: an alert the dispatcher gave up on after its
    /// retries (from alerts-retry-2, partition 3), a bad event from the scorer, and a truncated one.
    static func letters(dlt: String, alerts: String, events: String) throws -> [OutgoingRecord] {
        let alert = try RecordCoding.encode(OpsTestKafka.alert(id: "al-risk-acme-1"))
        var fromRetry = DeadLetter.letter(
            topic: dlt, key: Array("cs-escalations".utf8), value: alert,
            headers: [KafkaHeader(name: RetryHeaders.attempt, text: "3"), KafkaHeader(name: "trace", text: "t-1")],
            rejection: Rejection(
                code: "retries_exhausted",
                reason:
                    "cs-escalations: not delivered after 4 attempts; last: HTTP 503 from https://slack-webhook.example.invalid/not-a-secret"
            ),
            source: ("dispatcher", alerts + "-retry-2", 3, 41))
        fromRetry.headers.append(
            KafkaHeader(
                name: RetryHeaders.history, text: "1 http_503 2026-11-20T10:00:01Z; 2 timeout 2026-11-20T10:00:12Z"))
        let badEvent = DeadLetter.letter(
            topic: dlt, key: Array("globex".utf8),
            value: Array(#"{"event_id":"e-7","account_id":"globex","type":"login","occurred_at":"not a time"}"#.utf8),
            rejection: Rejection(code: "bad_timestamp", reason: "occurred_at: not RFC 3339"),
            source: ("ingest-scorer", events, 5, 900))
        let huge = DeadLetter.letter(
            topic: dlt, key: Array("initech".utf8), value: [UInt8](repeating: 0x7B, count: 1_200_000),
            rejection: Rejection(code: "too_large", reason: "1200000 bytes over MAX_RECORD_BYTES"),
            source: ("ingest-scorer", events, 1, 7))
        return [fromRetry, badEvent, huge]
    }

    @Test func inspectShowsReasonSourceHistoryAndSizeButNoURL() async throws {
        let cluster = try MockCluster()
        let dlt = OpsTestKafka.topic("alerts-dlt")
        try cluster.createTopic(dlt, partitions: 3)
        try await OpsTestKafka.produce(
            try Self.letters(dlt: dlt, alerts: "alerts", events: "account-events"), cluster: cluster)

        let records = try await TopicReader.readAll(
            topic: dlt, configuration: OpsTestKafka.config(cluster), logger: OpsTestKafka.logger)
        let entries = records.map(DeadLetterEntry.init)
        #expect(entries.count == 3)

        let alert = try #require(entries.first { $0.code == "retries_exhausted" })
        #expect(alert.stage == "dispatcher")
        #expect(alert.sourceTopic == "alerts-retry-2" && alert.sourcePartition == 3 && alert.sourceOffset == 41)
        #expect(alert.history == ["1 http_503 2026-11-20T10:00:01Z", "2 timeout 2026-11-20T10:00:12Z"])
        #expect(
            alert.subject
                == .alert(
                    id: "al-risk-acme-1", type: "customer_at_risk", accountId: "acme", destination: "cs-escalations"))
        #expect(alert.originalSize == alert.record.value?.count)
        #expect(
            !alert.description.contains("slack-webhook.example.invalid") && !alert.description.contains("not-a-secret"))
        #expect(alert.reason.contains("<url>"))

        let event = try #require(entries.first { $0.code == "bad_timestamp" })
        #expect(event.subject == .event(id: "e-7", accountId: "globex"))
        #expect(event.reason == "occurred_at: not RFC 3339")

        let truncated = try #require(entries.first { $0.code == "too_large" })
        #expect(truncated.truncated && truncated.originalSize == 1_200_000)
        #expect(truncated.record.value?.count == DeadLetter.truncatedPrefixBytes)
        #expect(truncated.description.contains("not replayable"))
    }

    @Test func filtersTakeCodeKeyDestinationAndSince() throws {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let entries = try Self.letters(dlt: "dlt", alerts: "alerts", events: "account-events").enumerated().map {
            i, r in
            DeadLetterEntry(
                ConsumedRecord(
                    topic: r.topic, partition: 0, offset: Int64(i), key: r.key, value: r.value, headers: r.headers,
                    timestamp: now - Int64(i) * 3_600_000))
        }
        #expect(
            entries.filter(DeadLetterFilter(codes: ["bad_timestamp", "too_large"]).matches).map(\.code) == [
                "bad_timestamp", "too_large",
            ])
        #expect(entries.filter(DeadLetterFilter(key: "globex").matches).map(\.code) == ["bad_timestamp"])
        #expect(
            entries.filter(DeadLetterFilter(destination: "cs-escalations").matches).map(\.code) == ["retries_exhausted"]
        )
        let since = Timestamp(millisecondsSinceEpoch: now - 90 * 60_000)
        #expect(
            entries.filter(DeadLetterFilter(since: since).matches).map(\.code) == [
                "retries_exhausted", "bad_timestamp",
            ])
    }

    @Test func replayRedrivesToTheSourcePartitionAndRefusesTruncated() async throws {
        let cluster = try MockCluster()
        let prefix = OpsTestKafka.topic("p") + "."
        let dlt = prefix + "alerts-dlt"
        let eventsDLT = prefix + "account-events-dlt"
        let alerts = prefix + "alerts"
        let events = prefix + "account-events"
        for topic in [dlt, eventsDLT] { try cluster.createTopic(topic, partitions: 3) }
        try cluster.createTopic(alerts, partitions: 12)
        try cluster.createTopic(events, partitions: 12)
        var letters = try Self.letters(dlt: dlt, alerts: alerts, events: events)
        letters[1].topic = eventsDLT  // the scorer's dead letter, in the scorer's dead-letter topic
        try await OpsTestKafka.produce(letters, cluster: cluster)
        let config = OpsTestKafka.config(cluster)
        var entries: [DeadLetterEntry] = []
        for topic in [dlt, eventsDLT] {
            entries += try await TopicReader.readAll(topic: topic, configuration: config, logger: OpsTestKafka.logger)
                .map(DeadLetterEntry.init)
        }

        // The dry run: the plan alone, nothing sent.
        let plan = DeadLetterReplay.plan(entries, prefix: prefix)
        let refused = try #require(plan.first { $0.refusal != nil })
        #expect(refused.entry.code == "too_large" && refused.refusal!.contains("truncated"))
        let alertItem = try #require(plan.first { $0.entry.code == "retries_exhausted" })
        #expect(alertItem.record?.topic == alerts && alertItem.record?.partition == 3)
        #expect(alertItem.note.contains("al-risk-acme-1|cs-escalations"))
        #expect(alertItem.description.contains("-> \(alerts)[3]"))
        #expect(
            try await TopicReader.readAll(topic: alerts, configuration: config, logger: OpsTestKafka.logger).isEmpty)

        let producer = try KafkaProducer(configuration: config, logger: OpsTestKafka.logger)
        #expect(try await DeadLetterReplay.send(plan, producer: producer) == 2)
        await producer.shutdown()

        let replayedAlert = try #require(
            try await TopicReader.readAll(topic: alerts, configuration: config, logger: OpsTestKafka.logger).first)
        #expect(replayedAlert.partition == 3)
        #expect(replayedAlert.keyString == "cs-escalations")
        #expect(replayedAlert.value == letters[0].value)
        #expect(try RecordCoding.decode(AlertRecord.self, from: replayedAlert.value!).alertId == "al-risk-acme-1")
        // A fresh retry budget (no attempt, no due time), the attempt history carried on with a mark.
        #expect(
            !replayedAlert.headers.contains {
                $0.name.hasPrefix("dlt.") || $0.name == RetryHeaders.attempt || $0.name == RetryHeaders.due
            })
        let from = "\(dlt)[\(alertItem.entry.record.partition)]@\(alertItem.entry.record.offset)"
        #expect(
            replayedAlert.headers.filter { $0.name == RetryHeaders.history }.map(\.text) == [
                "1 http_503 2026-11-20T10:00:01Z; 2 timeout 2026-11-20T10:00:12Z; replayed from \(from)"
            ])
        #expect(
            RetryHeaders.attempts(inHistory: replayedAlert.headers.last(named: RetryHeaders.history)?.text ?? "") == 2)
        #expect(replayedAlert.headers.last(named: "trace")?.text == "t-1")
        #expect(
            replayedAlert.headers.last(named: DeadLetterReplay.replayedFromHeader)?.text
                == "\(dlt)[\(alertItem.entry.record.partition)]@\(alertItem.entry.record.offset)")

        let replayedEvent = try #require(
            try await TopicReader.readAll(topic: events, configuration: config, logger: OpsTestKafka.logger).first)
        #expect(
            replayedEvent.partition == 5 && replayedEvent.keyString == "globex"
                && replayedEvent.value == letters[1].value)
        // A dead letter with no dispatcher history gets none.
        #expect(replayedEvent.headers.last(named: RetryHeaders.history) == nil)
    }

    @Test func replayToAnotherTopicPartitionsByKey() throws {
        let letter = try Self.letters(dlt: "dlt", alerts: "alerts", events: "account-events")[1]
        let entry = DeadLetterEntry(
            ConsumedRecord(
                topic: "dlt", partition: 0, offset: 0, key: letter.key, value: letter.value, headers: letter.headers,
                timestamp: nil))
        let item = DeadLetterReplay.plan(entry, to: "account-events-fixed")
        #expect(item.record?.topic == "account-events-fixed" && item.record?.partition == nil)
        #expect(DeadLetterReplay.mainTopic(of: "prod.alerts-retry-3") == "prod.alerts")
        #expect(DeadLetterReplay.mainTopic(of: "account-events") == "account-events")
    }

    /// The history a replayed alert carries counts its earlier attempts, whatever runs it went
    /// through; the replay marks are not attempts.
    @Test func attemptsAreCountedOverReplays() {
        #expect(RetryHeaders.attempts(inHistory: "") == 0)
        #expect(RetryHeaders.attempts(inHistory: "1 http_503 2026-11-20T10:00:01Z") == 1)
        let twice =
            "1 http_503 2026-11-20T10:00:01Z; 2 timeout 2026-11-20T10:00:12Z; 3 http_503 2026-11-20T10:01:12Z; 4 http_503 2026-11-20T10:06:12Z; "
            + RetryHeaders.replayMark(from: "alerts-dlt[2]@7") + "; 1 http_404 2026-11-21T09:00:00Z; "
            + RetryHeaders.replayMark(from: "alerts-dlt[2]@9")
        #expect(RetryHeaders.attempts(inHistory: twice) == 5)
        let entry = DeadLetterEntry(
            ConsumedRecord(
                topic: "alerts-dlt", partition: 2, offset: 9, key: Array("cs".utf8), value: Array("{}".utf8),
                headers: [KafkaHeader(name: RetryHeaders.history, text: "1 http_503 2026-11-20T10:00:01Z")],
                timestamp: nil))
        let again = DeadLetterReplay.plan(entry, to: "alerts")
        #expect(
            again.record?.headers.last(named: RetryHeaders.history)?.text
                == "1 http_503 2026-11-20T10:00:01Z; replayed from alerts-dlt[2]@9")
    }

    /// Issue 22, row 10: `dlt.source.topic` is a header any producer can write. A replay goes to the
    /// input of the stage owning the dead-letter topic (from the catalog), never where the header
    /// points; `--to` never names an internal topic.
    @Test(
        "replay targets come from the catalog, not from dlt.source.topic",
        arguments: [
            // (dead-letter topic, dlt.source.topic, --to, expected target or nil when refused, refusal contains)
            ("t.alerts-dlt", "t.alerts-retry-2", nil, "t.alerts", nil),
            ("t.alerts-dlt", "t.alerts", nil, "t.alerts", nil),
            ("t.alerts-dlt", nil, nil, "t.alerts", nil),
            ("t.account-events-dlt", "t.account-events", nil, "t.account-events", nil),
            ("t.health-scores-dlt", "t.health-scores", nil, "t.health-scores", nil),
            // The header points at internal state or another stage's topic: refused.
            ("t.alerts-dlt", "t.dispatcher-state", nil, nil, "is not t.alerts"),
            ("t.alerts-dlt", "t.alerts-delivered", nil, nil, "is not t.alerts"),
            ("t.health-scores-dlt", "t.evaluator-state", nil, nil, "is not t.health-scores"),
            ("t.account-events-dlt", "t.alerts", nil, nil, "is not t.account-events"),
            // A topic that is no dead-letter topic of the catalog: only with --to.
            ("t.my-dlt", "t.alerts", nil, nil, "not a dead-letter topic"),
            ("t.alerts-dlt", "t.alerts", "t.alerts-copy", "t.alerts-copy", nil),
            ("t.alerts-dlt", "t.dispatcher-state", "t.alerts", "t.alerts", nil),
            // --to an internal topic: never.
            ("t.alerts-dlt", "t.alerts", "t.dispatcher-state", nil, "state changelog"),
            ("t.account-events-dlt", "t.account-events", "t.ingest-scorer-state", nil, "state changelog"),
            ("t.health-scores-dlt", "t.health-scores", "t.evaluator-state", nil, "state changelog"),
            ("t.alerts-dlt", "t.alerts", "t.alerts-delivered", nil, "delivery log"),
            ("t.alerts-dlt", "t.alerts", "t.alerts-retry-1", nil, "retry topic"),
            ("t.alerts-dlt", "t.alerts", "t.alerts-dlt", nil, "dead-letter topic"),
            ("t.alerts-dlt", "t.alerts", "t.alert-feedback", nil, "verdicts"),
            ("t.alerts-dlt", "t.alerts", "billing-changelog", nil, "state changelog"),
        ] as [(String, String?, String?, String?, String?)])
    func replayTargets(dlt: String, source: String?, to: String?, expected: String?, refusal: String?) throws {
        let alert = try RecordCoding.encode(OpsTestKafka.alert(id: "al-1"))
        let letter = DeadLetter.letter(
            topic: dlt, key: Array("cs".utf8), value: alert, rejection: Rejection(code: "http_410", reason: "gone"),
            source: ("dispatcher", source ?? "", 4, 7))
        let headers = source == nil ? letter.headers.filter { $0.name != DeadLetter.topicHeader } : letter.headers
        let entry = DeadLetterEntry(
            ConsumedRecord(
                topic: dlt, partition: 1, offset: 9, key: letter.key, value: letter.value, headers: headers,
                timestamp: nil))
        let item = DeadLetterReplay.plan(entry, prefix: "t.", to: to)
        #expect(item.record?.topic == expected, "\(item.description)")
        if let refusal {
            #expect(item.refusal?.contains(refusal) == true, "\(item.description)")
        } else {
            #expect(item.refusal == nil)
        }
        if let record = item.record, let source, DeadLetterReplay.mainTopic(of: source) == record.topic {
            #expect(record.partition == 4)  // back to its source partition (co-partitioned with the delivery log)
        } else if let record = item.record {
            #expect(record.partition == nil)  // elsewhere: by key
        }
    }

    /// Issue 22, row 11: an alert dead-lettered while in doubt keeps the fact through the replay, so
    /// the dispatcher looks it up in its Slack app channel before posting it again.
    @Test func replayKeepsTheInDoubtMark() throws {
        let alert = try RecordCoding.encode(OpsTestKafka.alert(id: "al-2"))
        let letter = DeadLetter.letter(
            topic: "alerts-dlt", key: Array("cs".utf8), value: alert,
            headers: [
                KafkaHeader(name: RetryHeaders.attempt, text: "3"),
                KafkaHeader(name: RetryHeaders.inDoubtSince, text: "1800000000000"),
            ],
            rejection: Rejection(code: "retries_exhausted", reason: "timeouts"),
            source: ("dispatcher", "alerts-retry-3", 2, 5))
        let entry = DeadLetterEntry(
            ConsumedRecord(
                topic: "alerts-dlt", partition: 0, offset: 3, key: letter.key, value: letter.value,
                headers: letter.headers, timestamp: nil))
        let record = try #require(DeadLetterReplay.plan(entry).record)
        #expect(record.topic == "alerts" && record.partition == 2)
        #expect(record.headers.last(named: RetryHeaders.inDoubtSince)?.text == "1800000000000")
        #expect(record.headers.last(named: RetryHeaders.attempt) == nil)
        #expect(entry.description.contains("in doubt since 2027-01-15T08:00:00Z"), "\(entry.description)")
    }

    @Test func urlsAreMaskedInReasons() {
        #expect(
            DeadLetterEntry.maskingURLs("posting to https://hooks.slack.com/x/y failed (http://a.b/c)")
                == "posting to <url> failed (<url>)")
        #expect(DeadLetterEntry.maskingURLs("http_410 httpish") == "http_410 httpish")
    }
}
