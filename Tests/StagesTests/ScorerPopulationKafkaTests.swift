import Contracts
import Foundation
import HealthModel
import Kafka
import Logging
import Stages
import TestSupport
import Testing
import WorkerRuntime

/// The ingest-scorer stage's population on a real (mock) broker: each partition's part reaches the
/// compacted `ingest-scorer-population` topic, counts every activity event once, and a worker that
/// takes the partitions over resumes from the parts the topic holds instead of starting again.
@Suite(.serialized) struct ScorerPopulationKafkaTests {
    static let logger: Logger = {
        var l = Logger(label: "population-kafka-test")
        l.logLevel = .error
        return l
    }()

    /// The latest part per key of the population topic (as compaction would keep it).
    static func parts(_ cluster: MockCluster, topic: String) async throws -> [String: PopulationPart] {
        let records = try await MisroutedEventKafkaTests.read(cluster, topic, partitions: 1, timeout: .seconds(20))
        var out: [String: PopulationPart] = [:]
        for record in records {
            let key = String(decoding: record.key ?? [], as: UTF8.self)
            out[key] = try PopulationPart(decoding: record.value ?? [])
        }
        return out
    }

    /// Activity events counted in `parts` over every day.
    static func counted(_ parts: [String: PopulationPart]) -> Int64 {
        parts.values.reduce(0) { $0 + $1.counts.totals.values.reduce(0) { $0 + $1.events } }
    }

    /// Runs the stage until `events` is committed to `ends`, then stops it.
    static func runStage(_ cluster: MockCluster, prefix: String, until ends: [Int64]) async throws {
        let settings = WorkerSettings(
            stage: "ingest-scorer", brokers: cluster.bootstrapServers, topicPrefix: prefix, groupId: prefix + "g",
            commitInterval: .milliseconds(200),
            consumerOverrides: [
                "session.timeout.ms": "6000", "heartbeat.interval.ms": "300", "fetch.wait.max.ms": "10",
            ])
        let worker = try ScorerStage.make(settings: settings, env: ["TIME_MODE": "replay"], logger: logger)
        let run = Task { try await worker.run() }
        // Committed offsets are the broker's state, not an event: checked every 200 ms, bounded.
        var offsets: [Int64] = []
        _ = try await BoundedWait.until(.seconds(40), every: .milliseconds(200)) {
            offsets = try MisroutedEventKafkaTests.committed(
                cluster, group: prefix + "g", topic: prefix + FleetTopics.accountEvents)
            return offsets == ends
        }
        worker.requestStop()
        try await run.value
        #expect(offsets == ends, "not committed to the end within 40 s: \(offsets) of \(ends)")
    }

    @Test func eachPartitionsPartIsPublishedAndANewOwnerResumesFromIt() async throws {
        let cluster = try MockCluster()
        let prefix = "p\(UInt32.random(in: 0...UInt32.max))-"
        let events = prefix + FleetTopics.accountEvents
        let population = prefix + FleetTopics.scorerPopulation
        try cluster.createTopic(events, partitions: 2)
        for topic in [FleetTopics.healthScores, FleetTopics.scorerState] {
            try cluster.createTopic(prefix + topic, partitions: 2)
        }
        try cluster.createTopic(prefix + FleetTopics.accountEventsDLT, partitions: 1)
        try cluster.createTopic(population, partitions: 1)
        let producer = try KafkaProducer(
            configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, ["linger.ms": "1"]),
            logger: Self.logger)
        // 12 accounts, 3 logins a day each, over 4 days ending two days ago (replay time: only
        // the events move time), then one more day after the restart.
        let day0 = (Int64(Date().timeIntervalSince1970 * 1000) / 86_400_000 - 6) * 86_400_000
        var sent: [Int64] = [0, 0]
        func send(days: Range<Int>) async throws {
            for d in days {
                for k in 0..<3 {
                    for a in 0..<12 {
                        let at = day0 + Int64(d) * 86_400_000 + Int64(9 + k * 3) * 3_600_000 + Int64(a) * 1000
                        let value = MisroutedEventTests.json("e-\(a)-\(d)-\(k)", account: "acct-\(a)", at: at)
                        let p = try await producer.send(OutgoingRecord(topic: events, key: "acct-\(a)", value: value))
                            .partition
                        sent[Int(p)] += 1
                    }
                }
            }
        }
        try await send(days: 0..<4)
        try await Self.runStage(cluster, prefix: prefix, until: sent)
        var parts = try await Self.parts(cluster, topic: population)
        #expect(Set(parts.keys).isSubset(of: ["0", "1"]) && !parts.isEmpty, "keys \(parts.keys.sorted())")
        // Every login counted once, the days before the last sealed, the time reached published.
        #expect(Self.counted(parts) == 4 * 3 * 12, "\(Self.counted(parts)) of 144 logins counted")
        for (key, part) in parts {
            #expect(part.sealedThrough == day0 / 86_400_000 + 2, "partition \(key) sealed \(part.sealedThrough)")
            #expect(part.reachedMilliseconds != nil, "partition \(key) published no time")
        }

        // A new worker (the same group) takes both partitions over: the parts it publishes go on
        // from the topic's, so the counts of the first four days are still there.
        try await send(days: 4..<5)
        await producer.shutdown()
        try await Self.runStage(cluster, prefix: prefix, until: sent)
        parts = try await Self.parts(cluster, topic: population)
        #expect(Self.counted(parts) == 5 * 3 * 12, "\(Self.counted(parts)) of 180 logins counted after the restart")
        #expect(parts.values.allSatisfy { $0.sealedThrough == day0 / 86_400_000 + 3 })
    }
}
