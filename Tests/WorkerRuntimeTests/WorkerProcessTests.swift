import Foundation
import Kafka
import TestSupport
import Testing

/// The runtime end to end: a real worker process (`worker-probe`) against a Kafka-protocol broker
/// on 127.0.0.1 hosted by the test.
@Suite(.serialized) struct WorkerProcessTests {
    func produce(_ cluster: MockCluster, topic: String, _ records: [(String, String)], headers: [KafkaHeader] = [])
        async throws
    {
        let producer = try KafkaProducer(
            configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, ["linger.ms": "1"]),
            logger: TopicReader.logger)
        for (key, value) in records {
            _ = try await producer.send(
                OutgoingRecord(topic: topic, key: key, value: Array(value.utf8), headers: headers))
        }
        await producer.shutdown()
    }

    @Test func rejectedRecordLandsInTheDeadLetterTopicWithItsHeaders() async throws {
        let cluster = try MockCluster()
        let topics = try ProbeTopics(cluster)
        let probe = try ProbeProcess(cluster: cluster, topics: topics, group: "g-\(topics.input)")
        try await produce(
            cluster, topic: topics.input, [("acct-1", "a"), ("acct-1", "poison"), ("acct-1", "b")],
            headers: [KafkaHeader(name: "trace-id", text: "abc")])
        let dead = try await TopicReader.read(
            cluster, topic: topics.deadLetter, partitions: 1, count: 1, timeout: .seconds(40))
        let out = try await TopicReader.read(
            cluster, topic: topics.output, partitions: 4, count: 2, timeout: .seconds(20))
        #expect(try await probe.terminate() == 0)
        try #require(dead.count == 1, "no dead letter within 40 s; probe log:\n\(probe.log.suffix(2000))")
        let letter = dead[0]
        #expect(letter.value == Array("poison".utf8), "original bytes kept")
        #expect(letter.keyString == "acct-1")
        #expect(letter.headers.last(named: "dlt.reason")?.text == "value is poison")
        #expect(letter.headers.last(named: "dlt.code")?.text == "poison")
        #expect(letter.headers.last(named: "dlt.stage")?.text == "probe")
        #expect(letter.headers.last(named: "dlt.source.topic")?.text == topics.input)
        #expect(letter.headers.last(named: "dlt.source.offset")?.text == "1")
        #expect(letter.headers.last(named: "dlt.source.partition") != nil)
        #expect(letter.headers.last(named: "trace-id")?.text == "abc", "original headers kept")
        #expect(
            out.map { String(decoding: $0.value!, as: UTF8.self) } == ["a#1", "b#2"],
            "the partition kept flowing past the bad record")
    }

    @Test func stateIsRestoredInANewProcess() async throws {
        let cluster = try MockCluster()
        let topics = try ProbeTopics(cluster)
        let group = "g-\(topics.input)"
        let first = try ProbeProcess(cluster: cluster, topics: topics, group: group)
        // Event time moves the watermark, saved with the state: 2026-11-20T10:00:00Z at most.
        let eventTime: Int64 = 1_795_168_800_000
        try await produce(
            cluster, topic: topics.input, (0..<10).map { ("acct-1", "a\($0)") } + (0..<3).map { ("acct-2", "x\($0)") },
            headers: [KafkaHeader(name: "event-time", text: String(eventTime))])
        let before = try await TopicReader.read(
            cluster, topic: topics.output, partitions: 4, count: 13, timeout: .seconds(40))
        try #require(before.count == 13, "first probe forwarded \(before.count) of 13; log:\n\(first.log.suffix(2000))")
        #expect(try await first.terminate() == 0)

        let second = try ProbeProcess(cluster: cluster, topics: topics, group: group)
        try await produce(cluster, topic: topics.input, (0..<5).map { ("acct-1", "b\($0)") })
        let after = try await TopicReader.read(
            cluster, topic: topics.output, partitions: 4, count: 18, timeout: .seconds(60))
        #expect(try await second.terminate() == 0)
        let values = after.map { String(decoding: $0.value!, as: UTF8.self) }
        #expect(
            values.filter { $0.hasPrefix("b") } == (0..<5).map { "b\($0)#\(11 + $0)" },
            "counts continue from the restored state: \(values)")
        #expect(values.count == 18, "nothing processed twice across the restart")
        #expect(
            second.log.contains(#""watermark":"\#(eventTime)""#),
            "the watermark resumed from the changelog:\n\(second.log.suffix(2000))")
    }

    @Test func sigtermMidStreamCommitsAndExitsZero() async throws {
        let cluster = try MockCluster()
        let topics = try ProbeTopics(cluster)
        let group = "g-\(topics.input)"
        let total = 6000
        let first = try ProbeProcess(cluster: cluster, topics: topics, group: group)
        let port = try await first.httpPort(timeout: .seconds(20))
        // Records keep arriving (one acknowledged send at a time) while the worker is stopped.
        let production = Task { [self] in
            try await produce(cluster, topic: topics.input, (0..<total).map { ("k\($0 % 50)", "v\($0)") })
        }
        _ = try await TopicReader.read(cluster, topic: topics.output, partitions: 4, count: 300, timeout: .seconds(40))
        let ready = try await HTTPGet.fetch(port: port, path: "/readyz")
        let metrics = try await HTTPGet.fetch(port: port, path: "/metrics")
        #expect(try await first.terminate() == 0, "exit code after SIGTERM; log:\n\(first.log.suffix(2000))")
        #expect(ready.status == 200, "readyz: \(ready.body)")
        #expect(metrics.body.contains("fleet_records_consumed_total"))
        #expect(metrics.body.contains("# HELP fleet_records_consumed_total "), "no HELP line on /metrics")
        #expect(metrics.body.contains("# TYPE fleet_build_info gauge"), "no fleet_build_info on /metrics")
        try await production.value

        // Everything it produced was committed, and nothing beyond.
        let produced = try TopicReader.size(cluster, topic: topics.output, partitions: 4)
        let checker = try KafkaConsumer(
            configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, ["group.id": group]),
            name: "checker", logger: TopicReader.logger)
        let committed = try checker.committed((0..<4).map { TopicPartition(topics.input, Int32($0)) })
        checker.close()
        let committedTotal = committed.values.reduce(Int64(0)) { $0 + ($1 ?? 0) }
        #expect(produced > 0 && produced < Int64(total), "stopped mid-stream (produced \(produced))")
        #expect(committedTotal == produced, "committed \(committedTotal) vs produced \(produced)")

        // A second run finishes the rest: every input exactly once, per-key counts unbroken.
        let second = try ProbeProcess(cluster: cluster, topics: topics, group: group)
        let all = try await TopicReader.read(
            cluster, topic: topics.output, partitions: 4, count: total, timeout: .seconds(90))
        #expect(try await second.terminate() == 0)
        let values = all.map { String(decoding: $0.value!, as: UTF8.self) }
        #expect(values.count == total)
        let inputs = values.map { $0.split(separator: "#")[0] }
        #expect(Set(inputs).count == total, "an input was lost or duplicated")
        var counts: [String: [Int]] = [:]
        for record in all {
            let parts = String(decoding: record.value!, as: UTF8.self).split(separator: "#")
            counts[record.keyString!, default: []].append(Int(parts[1])!)
        }
        #expect(counts.values.allSatisfy { $0 == Array(1...$0.count) }, "state counts broke across the restart")
    }
}
