import Contracts
import FleetOps
import Foundation
import Kafka
import Stages
import Testing
import WorkerRuntime

/// `fleet-admin delivery-log` against the mock cluster, and the log's retention in the catalog.
@Suite struct DeliveryLogQueryTests {
    static func entry(_ id: String, account: String, destination: String, at hour: Int64, group: [String]? = nil)
        -> DeliveryLogEntry
    {
        DeliveryLogEntry(
            alertId: id, destination: destination, accountId: account, type: "customer_at_risk",
            deliveredAt: Timestamp(year: 2026, month: 11, day: 20, hour: hour), status: 200, retries: 0,
            messageAlertIds: group ?? [id])
    }

    @Test func showsWhatWasPostedWhereAndWhenWithSlacksAnswer() async throws {
        let cluster = try MockCluster()
        let topic = OpsTestKafka.topic("alerts-delivered")
        try cluster.createTopic(topic, partitions: 4)
        let log = [
            Self.entry("a1", account: "acme", destination: "cs-escalations", at: 9, group: ["a1", "a2"]),
            Self.entry("a2", account: "acme", destination: "cs-escalations", at: 9, group: ["a1", "a2"]),
            Self.entry("a3", account: "acme", destination: "billing-alerts", at: 11),
            Self.entry("g1", account: "globex", destination: "cs-escalations", at: 10),
            Self.entry("a4", account: "acme", destination: "customer-health", at: 12),
        ]
        var records = try log.map {
            OutgoingRecord(
                topic: topic, partition: 1, key: "\($0.alertId)|\($0.destination)", value: try RecordCoding.encode($0))
        }
        // a tombstone
        records.append(OutgoingRecord(topic: topic, partition: 1, key: "a4|customer-health", value: nil))
        records.append(OutgoingRecord(topic: topic, partition: 2, key: "junk", value: Array("not json".utf8)))
        try await OpsTestKafka.produce(records, cluster: cluster)

        let read = try await TopicReader.readAll(
            topic: topic, configuration: OpsTestKafka.config(cluster), logger: OpsTestKafka.logger)
        #expect(read.count == 7)
        let (acme, unreadable) = DeliveryLogQuery(account: "acme").entries(from: read)
        #expect(unreadable == 1)
        #expect(acme.map(\.alertId) == ["a1", "a2", "a3"])
        #expect(
            DeliveryLogQuery(account: "acme", destination: "billing-alerts").entries(from: read).entries.map(\.alertId)
                == ["a3"])
        #expect(
            DeliveryLogQuery(since: Timestamp(year: 2026, month: 11, day: 20, hour: 10)).entries(from: read).entries
                .map(\.alertId) == ["g1", "a3"])
        let line = DeliveryLogQuery.line(acme[0])
        #expect(
            line
                == "2026-11-20T09:00:00Z  acme  customer_at_risk  -> cs-escalations  Slack answered 200 ok  retries 0  alert a1  (one message with 2 alerts: a1, a2)"
        )
    }

    /// The delivery log is bounded by time, and remembers at least as long as an alert can come
    /// back: from `alerts` or a retry topic (reprocessing) or from `alerts-dlt` (a replay).
    /// Intents to post (written before each post) are not deliveries: one followed by its delivery
    /// disappears behind it, one left last is listed as in doubt, and neither is "unreadable".
    @Test func intentsAreShownInDoubtOnlyWithoutALaterDelivery() throws {
        func record(_ key: String, _ value: [UInt8], offset: Int64) -> ConsumedRecord {
            ConsumedRecord(
                topic: "alerts-delivered", partition: 0, offset: offset, key: Array(key.utf8), value: value,
                headers: [], timestamp: nil)
        }
        func intent(_ id: String, hour: Int64) throws -> [UInt8] {
            try RecordCoding.encode(
                DeliveryIntent(
                    alertId: id, destination: "cs-escalations", accountId: "acme", type: "customer_at_risk",
                    postingAt: Timestamp(year: 2026, month: 11, day: 20, hour: hour), messageAlertIds: [id]))
        }
        var reconciled = Self.entry("a2", account: "acme", destination: "cs-escalations", at: 10)
        reconciled.reconciled = true
        let records = [
            record("a1|cs-escalations", try intent("a1", hour: 9), offset: 0),
            record(
                "a1|cs-escalations",
                try RecordCoding.encode(Self.entry("a1", account: "acme", destination: "cs-escalations", at: 9)),
                offset: 1),
            record("a2|cs-escalations", try intent("a2", hour: 10), offset: 2),
            record("a2|cs-escalations", try RecordCoding.encode(reconciled), offset: 3),
            record("a3|cs-escalations", try intent("a3", hour: 11), offset: 4),
        ]
        let query = DeliveryLogQuery(account: "acme")
        let (entries, unreadable) = query.entries(from: records)
        #expect(unreadable == 0)
        #expect(entries.map(\.alertId) == ["a1", "a2"])
        #expect(
            DeliveryLogQuery.line(entries[1]).hasSuffix(
                "(in doubt after a crash, found in the channel: not posted again)"))
        let doubtful = query.inDoubt(from: records)
        #expect(doubtful.map(\.alertId) == ["a3"])
        #expect(
            DeliveryLogQuery.line(doubtful[0])
                == "2026-11-20T11:00:00Z  acme  customer_at_risk  -> cs-escalations  posting, no delivery logged (in doubt)  alert a3"
        )
        #expect(DeliveryLogQuery(account: "globex").inDoubt(from: records).isEmpty)
    }

    @Test func deliveryLogRetentionCoversEveryWayAnAlertComesBack() throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("topics/topics.yaml").path
        let catalog = try TopicCatalog.parse(try String(contentsOfFile: file, encoding: .utf8), file: file)
        func topic(_ name: String) throws -> TopicCatalog.Topic {
            try #require(catalog.topics.first { $0.name == name })
        }
        let log = try topic(FleetTopics.alertsDelivered)
        let policies = Set((log.configs["cleanup.policy"] ?? "").split(separator: ",").map(String.init))
        #expect(policies == ["compact", "delete"])
        let retention = try #require(log.configs["retention.ms"].flatMap { Int64($0) })
        for name in [FleetTopics.alerts, FleetTopics.alertsDLT] + FleetTopics.alertsRetry {
            let kept = try #require(try topic(name).configs["retention.ms"].flatMap { Int64($0) })
            #expect(retention >= kept, "\(name) keeps alerts longer than the delivery log remembers them")
        }
    }
}
