import Foundation
import Kafka
import Testing

@Suite struct ConsumerGroupTests {
    /// Two members split 12 partitions; a third joins and partitions move to it (cooperative-sticky)
    /// while production goes on; every record is consumed, none lost.
    @Test func membersSplitPartitionsAndAThirdJoinsWithoutLoss() async throws {
        let cluster = try MockCluster()
        let topic = TestKafka.topic()
        try cluster.createTopic(topic, partitions: 12)
        let group = "g-split-\(UInt32.random(in: 0...UInt32.max))"
        let config = TestKafka.consumerConfig(cluster, group: group)
        let producer = try TestKafka.producer(cluster)
        func produce(_ range: Range<Int>) async throws {
            for i in range {
                _ = try await producer.send(
                    OutgoingRecord(topic: topic, partition: Int32(i % 12), key: "k\(i)", value: Array("\(i)".utf8)))
            }
        }
        try await produce(0..<600)

        let seen = Observed(PollingMember.Seen())
        let a = try PollingMember(config: config, topics: [topic], name: "a", observed: seen)
        let b = try PollingMember(config: config, topics: [topic], name: "b", observed: seen)
        let all = Set((0..<12).map { TopicPartition(topic, Int32($0)) })
        // Both own a share; together they own all 12.
        let split = await seen.wait(upTo: .seconds(40)) { s in
            let x = s.assigned["a", default: []]
            let y = s.assigned["b", default: []]
            return !x.isEmpty && !y.isEmpty && x.union(y) == all && x.isDisjoint(with: y)
        }
        try #require(
            split != nil,
            "two members did not split 12 partitions within 40 s: \(seen.current.assigned.mapValues(\.count))")

        let c = try PollingMember(config: config, topics: [topic], name: "c", observed: seen)
        let joined = await seen.wait(upTo: .seconds(40)) { !$0.assigned["c", default: []].isEmpty }
        try #require(joined != nil, "the third member got no partition within 40 s")
        try await produce(600..<1200)

        let everything = await seen.wait(upTo: .seconds(40)) { $0.records.count == 1200 }
        #expect(everything != nil, "not every record was consumed: \(seen.current.records.count) of 1200")
        let owned = ["a", "b", "c"].map { seen.current.assigned[$0, default: []] }
        #expect(owned.allSatisfy { !$0.isEmpty }, "a member owns nothing: \(owned.map(\.count))")
        #expect(owned.reduce(Set()) { $0.union($1) } == all)
        // Partitions moved to the newcomer by revoking them from the others (cooperative), not by
        // a stop-the-world reassignment of all 12.
        #expect(seen.current.revocations["a", default: 0] + seen.current.revocations["b", default: 0] >= 1)
        #expect(owned[0].count + owned[1].count < 12)

        let members = [a, b, c]

        for m in members { await m.leave() }
        await producer.shutdown()
    }
}
