import Contracts
import Foundation
import HealthModel
import Kafka
import Logging
import Stages
import TestSupport
import Testing
import WorkerRuntime

/// The ingest-scorer on a real (mock) broker with two partitions: an event keyed by a ticket id, and
/// one without a key, that land on the other partition end up in their account's state, on the
/// account's partition, counted once.
@Suite(.serialized) struct MisroutedEventKafkaTests {
    static let logger: Logger = {
        var l = Logger(label: "misrouted-test")
        l.logLevel = .error
        return l
    }()

    static func configuration(_ cluster: MockCluster, _ settings: [String: String]) -> KafkaConfiguration {
        KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, settings)
    }

    /// Every record of `topic` (two partitions) read within `timeout`, or until `done` holds.
    /// Every record of `topic` up to the end each partition had when the read began (the high
    /// watermarks), or until `done` holds; fails after `timeout` with what it did read.
    static func read(
        _ cluster: MockCluster, _ topic: String, partitions count: Int32 = 2, timeout: Duration,
        until done: ([ConsumedRecord]) -> Bool = { _ in false }
    ) async throws -> [ConsumedRecord] {
        let settings = configuration(cluster, ["fetch.wait.max.ms": "10"])
        let consumer = try KafkaConsumer(configuration: settings, name: "reader", logger: logger)
        defer { consumer.close() }
        let partitions = (0..<count).map { TopicPartition(topic, $0) }
        var ends: [Int32: Int64] = [:]
        for partition in partitions { ends[partition.partition] = try consumer.watermarks(partition).high }
        try consumer.assign(Dictionary(uniqueKeysWithValues: partitions.map { ($0, KafkaOffset.beginning) }))
        var records: [ConsumedRecord] = []
        var next = Dictionary(uniqueKeysWithValues: partitions.map { ($0.partition, Int64(0)) })
        func atEnd() -> Bool { next.allSatisfy { $0.value >= ends[$0.key] ?? 0 } }
        let deadline = ContinuousClock.now + timeout
        while !done(records), !atEnd() {
            guard ContinuousClock.now < deadline else {
                Issue.record("read \(records.count) records of \(topic) in \(timeout), offsets \(next) of \(ends)")
                break
            }
            if let r = try await consumer.next(timeout: .milliseconds(100)) {
                records.append(r)
                next[r.partition] = r.offset + 1
            }
        }
        return records
    }

    static func committed(_ cluster: MockCluster, group: String, topic: String) throws -> [Int64] {
        let checker = try KafkaConsumer(configuration: configuration(cluster, ["group.id": group]), logger: logger)
        defer { checker.close() }
        let c = try checker.committed([TopicPartition(topic, 0), TopicPartition(topic, 1)])
        return [0, 1].map { c[TopicPartition(topic, Int32($0))]! ?? -1 }
    }

    @Test func eventsKeyedByAnotherIdOrUnkeyedLandInTheirAccountsStateOnce() async throws {
        let cluster = try MockCluster()
        let id = UInt32.random(in: 0...UInt32.max)
        let events = "events-\(id)"
        let scores = "scores-\(id)"
        let state = "state-\(id)"
        let dlt = "dlt-\(id)"
        let group = "g-\(id)"
        for topic in [events, scores, state] { try cluster.createTopic(topic, partitions: 2) }
        try cluster.createTopic(dlt, partitions: 1)
        let producer = try KafkaProducer(
            configuration: Self.configuration(cluster, ["linger.ms": "1"]),
            logger: Self.logger)
        let t0 = Int64(Date().timeIntervalSince1970 * 1000) - 3 * 3_600_000
        func json(_ id: String, _ type: String, at ms: Int64, _ properties: String = "{}") -> [UInt8] {
            MisroutedEventTests.json(id, account: "acme", at: ms, type: type, properties: properties)
        }
        // Where acme's events land (the partitioner's choice for its key), and the other partition.
        let login = OutgoingRecord(topic: events, key: "acme", value: json("e-login", "login", at: t0))
        let home = try await producer.send(login).partition
        let other: Int32 = 1 - home
        let billing = json(
            "e-billing", "billing_retry_failed", at: t0 + 60_000,
            #"{"invoice_id":"inv-77","amount":300,"currency":"EUR"}"#)
        let ticket = json("e-ticket", "ticket_opened", at: t0 + 120_000, #"{"ticket_id":"T-9"}"#)
        // Keyed by its invoice, and without a key: both on the other partition.
        _ = try await producer.send(OutgoingRecord(topic: events, partition: other, key: "inv-77", value: billing))
        _ = try await producer.send(OutgoingRecord(topic: events, partition: other, key: nil, value: ticket))
        // The same billing event again, keyed by its account (its producer re-sent it): counted once.
        _ = try await producer.send(OutgoingRecord(topic: events, key: "acme", value: billing))
        await producer.shutdown()

        let settings = WorkerSettings(
            stage: "ingest-scorer", brokers: cluster.bootstrapServers, groupId: group,
            commitInterval: .milliseconds(200),
            consumerOverrides: ["session.timeout.ms": "6000", "heartbeat.interval.ms": "300"])
        let topology = WorkerTopology(inputs: [events], changelog: state, deadLetter: dlt, outputs: [scores])
        let processor = ScorerProcessor(scoresTopic: scores, live: false)
        let worker = Worker(settings: settings, topology: topology, processor: processor, logger: Self.logger)
        let run = Task { try await worker.run() }
        // Done when both partitions are committed to their end: 2 on the other partition, and on
        // acme's, its 2 records plus the 2 copies (committed only once the copies were acknowledged).
        // Committed offsets are the broker's state, not an event: checked every 200 ms, bounded.
        var offsets: [Int64] = []
        _ = try await BoundedWait.until(.seconds(40), every: .milliseconds(200)) {
            offsets = try Self.committed(cluster, group: group, topic: events)
            return offsets[Int(other)] == 2 && offsets[Int(home)] == 4
        }
        worker.requestStop()
        try await run.value
        #expect(
            offsets[Int(other)] == 2 && offsets[Int(home)] == 4,
            "not committed to the end within 40 s (want 2 on the other partition, 4 on acme's): committed \(offsets), home partition \(home)"
        )

        let input = try await Self.read(cluster, events, timeout: .seconds(30)) { $0.count >= 6 }
        let copies = input.filter { $0.headers.last(named: "fleet.repartitioned.from") != nil }
        #expect(copies.count == 2, "both misrouted events re-published once")
        for copy in copies {
            #expect(
                copy.partition == home && copy.keyString == "acme",
                "a copy on \(copy.partition) keyed \(copy.keyString ?? "nil")")
            let from = copy.headers.last(named: "fleet.repartitioned.from")?.text ?? ""
            #expect(from.hasPrefix("\(events)[\(other)]@"), "\(from)")
        }
        #expect(Set(copies.compactMap(\.value)) == [billing, ticket], "the events' bytes unchanged")

        // acme's state lives on its own partition only (keys starting with NUL are the runtime's own).
        let changelog = try await Self.read(cluster, state, timeout: .seconds(30)).filter { $0.key?.first != 0 }
        let keys = Set(changelog.map { "\($0.keyString ?? "nil")@\($0.partition)" })
        #expect(keys == ["acme@\(home)"], "state keys: \(keys)")
        // Its scores: the billing retry once, though it reached the account twice.
        let records = try await Self.read(cluster, scores, timeout: .seconds(30)).compactMap {
            try? RecordCoding.decode(ScoreRecord.self, from: $0.value ?? [])
        }
        #expect(records.allSatisfy { $0.accountId == "acme" })
        #expect(records.flatMap(\.triggers).map(\.eventId) == ["e-billing"], "the billing retry counted once")
        let deadLettered = try await Self.read(cluster, dlt, partitions: 1, timeout: .seconds(30))
        #expect(deadLettered.isEmpty, "nothing dead-lettered")
    }
}
