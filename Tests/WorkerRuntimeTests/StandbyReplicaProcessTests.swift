import Foundation
import Kafka
import TestSupport
import Testing

@testable import WorkerRuntime

/// `STANDBY_REPLICAS=all` (issue 27 item 5): a replica added to a running stage reads the changelog
/// whole before it joins the group, so the partitions it is given restore warm: the restore reads
/// only what was written after the copy, and every key goes on from its count (nothing lost, nothing
/// counted twice). Two worker processes on one mock broker.
@Suite(.serialized) struct StandbyReplicaProcessTests {
    static let keys = (0..<40).map { "k\($0)" }

    /// The latest value per key of `records` (`key`: `text#count`).
    static func latest(_ records: [ConsumedRecord]) -> [String: String] {
        var out: [String: String] = [:]
        for r in records.sorted(by: { ($0.partition, $0.offset) < ($1.partition, $1.offset) }) {
            if let key = r.keyString, let value = r.value { out[key] = String(decoding: value, as: UTF8.self) }
        }
        return out
    }

    /// The figures of the "state restored" log lines of `log`: (keys, keys taken warm, records read).
    static func restores(_ log: String) -> [(keys: Int, warm: Int, records: Int)] {
        func figure(_ line: Substring, _ name: String) -> Int? {
            guard let r = line.range(of: "\"\(name)\":\"") else { return nil }
            return Int(line[r.upperBound...].prefix { $0.isNumber })
        }
        return log.split(separator: "\n").filter { $0.contains("state restored") }.compactMap { line in
            guard let keys = figure(line, "keys"), let warm = figure(line, "keys_warm"),
                let records = figure(line, "records")
            else { return nil }
            return (keys, warm, records)
        }
    }

    @Test func aReplicaAddedWithStandbysTakesItsPartitionsWarmAndEveryCountGoesOn() async throws {
        let cluster = try MockCluster()
        let topics = try ProbeTopics(cluster)
        let producer = try KafkaProducer(
            configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, ["linger.ms": "2"]),
            logger: TopicReader.logger)
        let group = "g-\(topics.input)"
        let first = try ProbeProcess(cluster: cluster, topics: topics, group: group)
        _ = try await first.httpPort(timeout: .seconds(20))
        for round in 1...3 {
            for (i, key) in Self.keys.enumerated() {
                _ = try await producer.send(
                    OutgoingRecord(
                        topic: topics.input, partition: Int32(i % 4), key: key, value: Array("r\(round)".utf8)))
            }
        }
        let counted = Self.latest(
            try await TopicReader.readUntil(cluster, topic: topics.output, partitions: 4, timeout: .seconds(60)) {
                Self.latest($0).values.filter { $0.hasSuffix("#3") }.count == Self.keys.count
            })
        #expect(counted.count == Self.keys.count && counted.values.allSatisfy { $0 == "r3#3" }, "\(counted)")
        // Every count is in the changelog before the second replica starts.
        let changelog = try await TopicReader.readUntil(
            cluster, topic: topics.changelog, partitions: 4, timeout: .seconds(30)
        ) { records in
            Set(records.filter { $0.value?.suffix(9) == [1, 0, 0, 0, 0, 0, 0, 0, 3] }.compactMap(\.keyString)).count
                == Self.keys.count
        }
        let changelogRecords = changelog.count
        #expect(changelogRecords >= Self.keys.count, "the first replica's counts reached the changelog")

        let second = try ProbeProcess(
            cluster: cluster, topics: topics, group: group, extra: ["STANDBY_REPLICAS": "all"])
        #expect(
            await second.waitForLog(timeout: .seconds(30)) { $0.contains("standby copies warm") },
            "the second replica warms its copies before it joins:\n\(second.log.suffix(3000))")
        #expect(
            await second.waitForLog(timeout: .seconds(60)) { !Self.restores($0).filter { $0.keys > 0 }.isEmpty },
            "the second replica is given partitions with state:\n\(second.log.suffix(3000))")
        let restores = Self.restores(second.log).filter { $0.keys > 0 }
        for r in restores {
            #expect(r.warm == r.keys, "every key taken warm: \(r)")
            let why = "the restore read only the changelog's tail (\(r.records) records for \(r.keys) keys; "
            #expect(r.records < r.keys, "\(why)\(changelogRecords) in the changelog)")
        }
        // One more record per key, to both replicas: every count goes on from 3.
        for (i, key) in Self.keys.enumerated() {
            _ = try await producer.send(
                OutgoingRecord(topic: topics.input, partition: Int32(i % 4), key: key, value: Array("r4".utf8)))
        }
        let after = Self.latest(
            try await TopicReader.readUntil(cluster, topic: topics.output, partitions: 4, timeout: .seconds(60)) {
                Self.latest($0).values.filter { $0.hasPrefix("r4") }.count == Self.keys.count
            })
        #expect(
            after.values.sorted() == Array(repeating: "r4#4", count: Self.keys.count),
            "\(after.filter { $0.value != "r4#4" })\nsecond:\n\(second.log.suffix(3000))")
        let metrics = try? await HTTPGet.body(port: try await second.httpPort(timeout: .seconds(5)), path: "/metrics")
        let gauge = metrics?.split(separator: "\n").first { $0.hasPrefix("fleet_standby_keys{") }
        #expect(
            gauge.flatMap { Double($0.split(separator: " ").last ?? "") } == Double(Self.keys.count),
            "every key in the copies: \(gauge.map(String.init) ?? "none")")
        #expect(try await second.terminate() == 0, "second:\n\(second.log.suffix(3000))")
        #expect(try await first.terminate() == 0, "first:\n\(first.log.suffix(3000))")
    }

    /// A SIGTERM while the copies warm (here: no broker answers, and the warm-up would wait ten
    /// minutes) stops the worker within its budget, without ever joining its group.
    @Test func aStopWhileTheCopiesWarmEndsAtOnceWithoutJoining() async throws {
        let cluster = try MockCluster()
        let topics = try ProbeTopics(cluster)
        let probe = try ProbeProcess(
            cluster: cluster, topics: topics, group: "g-\(topics.input)",
            extra: [
                "KAFKA_BROKERS": "127.0.0.1:1", "STANDBY_REPLICAS": "all", "STANDBY_WARMUP_TIMEOUT_MS": "600000",
                "SHUTDOWN_TIMEOUT_MS": "5000",
            ])
        _ = try await probe.httpPort(timeout: .seconds(20))
        // The worker is warming its copies (its reader finds no broker) before the stop comes.
        #expect(
            await probe.waitForLog(timeout: .seconds(30)) { $0.contains("standby replicas cannot read the topic") },
            "the copies' reader started:\n\(probe.log.suffix(3000))")
        let began = ContinuousClock.now
        let status = try await probe.terminate(timeout: .seconds(20))
        let took = ContinuousClock.now - began
        #expect(status == 0, "log:\n\(probe.log.suffix(6000))")
        #expect(took < .seconds(15), "stopped in \(took)")
        #expect(!probe.log.contains("worker started"), "it never joined:\n\(probe.log.suffix(3000))")
        #expect(!probe.log.contains("standby copies warm\""), "the copies were not warm")
    }
}
