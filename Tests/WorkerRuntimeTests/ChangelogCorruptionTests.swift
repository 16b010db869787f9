import Foundation
import Kafka
import TestSupport
import Testing

@testable import WorkerRuntime

/// Issue 22, row 9: a corrupt changelog value (an owner epoch of `Int64.max`, applied offsets the
/// input never reached) is skipped at restore with a metric and one log line naming topic,
/// partition and offset; the worker never crashes, its key starts afresh from its next record, and
/// the partition's later writes win over the corrupt value at the next restore.
@Suite(.serialized) struct ChangelogCorruptionTests {
    static func count(_ n: UInt64) -> [UInt8] {
        [1] + (0..<8).reversed().map { UInt8(truncatingIfNeeded: n >> (8 * UInt64($0))) }
    }

    @Test func aCorruptChangelogValueIsSkippedCountedAndTheKeyStartsAfresh() async throws {
        let cluster = try MockCluster()
        let topics = try ProbeTopics(cluster)
        let producer = try KafkaProducer(
            configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, ["linger.ms": "2"]),
            logger: TopicReader.logger)
        let writes: [(String, [UInt8])] = [
            ("good", ChangelogEnvelope(epoch: 100, payload: Self.count(4)).bytes),
            ("huge-epoch", ChangelogEnvelope(epoch: .max, payload: Self.count(10)).bytes),
            ("stuck", ChangelogEnvelope(epoch: 100, applied: [0: .max], payload: Self.count(3)).bytes),
        ]
        for (key, value) in writes {
            _ = try await producer.send(OutgoingRecord(topic: topics.changelog, partition: 0, key: key, value: value))
        }
        let probe = try ProbeProcess(cluster: cluster, topics: topics, group: "g-\(topics.input)")
        let port = try await probe.httpPort(timeout: .seconds(20))
        for key in ["good", "huge-epoch", "stuck"] {
            _ = try await producer.send(
                OutgoingRecord(topic: topics.input, partition: 0, key: key, value: Array("x".utf8)))
        }
        let outputs = try await TopicReader.readUntil(
            cluster, topic: topics.output, partitions: 4, timeout: .seconds(30)
        ) { $0.count >= 3 }
        let ready = try? await HTTPGet.fetch(port: port, path: "/readyz")
        let metrics = (try? await HTTPGet.body(port: port, path: "/metrics")) ?? ""
        #expect(try await probe.terminate() == 0, "log:\n\(probe.log.suffix(3000))")
        let got = Dictionary(outputs.map { ($0.keyString!, String(decoding: $0.value!, as: UTF8.self)) }) { a, _ in a }
        #expect(got == ["good": "x#5", "huge-epoch": "x#1", "stuck": "x#1"], "log:\n\(probe.log.suffix(3000))")
        #expect(ready?.status == 200, "the worker stays up and ready")
        let corrupt = metrics.split(separator: "\n").first {
            $0.hasPrefix("fleet_changelog_values_corrupt_total") && $0.contains(topics.changelog)
        }
        #expect(corrupt?.hasSuffix(" 2") == true, "metric line: \(corrupt.map(String.init) ?? "none")")
        let lines = probe.log.split(separator: "\n").filter { $0.contains("changelog value corrupt") }
        #expect(lines.count == 2, "one log line per corrupt value: \(lines)")
        #expect(
            lines.allSatisfy {
                $0.contains(#""topic":"\#(topics.changelog)""#) && $0.contains(#""partition":"0""#)
                    && $0.contains(#""offset":""#)
            })

        // A second owner: what the first one wrote after the corrupt values wins at its restore.
        let second = try ProbeProcess(cluster: cluster, topics: topics, group: "g-\(topics.input)")
        _ = try await second.httpPort(timeout: .seconds(20))
        for key in ["huge-epoch", "stuck"] {
            _ = try await producer.send(
                OutgoingRecord(topic: topics.input, partition: 0, key: key, value: Array("y".utf8)))
        }
        await producer.shutdown()
        let later = try await TopicReader.readUntil(cluster, topic: topics.output, partitions: 4, timeout: .seconds(40))
        { $0.count >= 5 }
        #expect(try await second.terminate() == 0, "log:\n\(second.log.suffix(3000))")
        let again = later.map { "\($0.keyString!)=\(String(decoding: $0.value!, as: UTF8.self))" }.filter {
            $0.contains("=y")
        }
        #expect(
            again.sorted() == ["huge-epoch=y#2", "stuck=y#2"],
            "the first owner's writes lost to the corrupt values: \(again)")
    }
}
