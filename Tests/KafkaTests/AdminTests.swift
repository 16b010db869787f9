import Kafka
import Testing

@Suite struct AdminTests {
    @Test func listsTopicsWithPartitionsAndReplication() async throws {
        let cluster = try MockCluster(brokers: 3)
        let topic = TestKafka.topic()
        try cluster.createTopic(topic, partitions: 6, replicationFactor: 3)
        let admin = try KafkaAdmin(
            configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), logger: TestKafka.logger)
        let topics = try await admin.listTopics()
        let found = try #require(topics[topic], "created topic not listed: \(topics.keys.sorted())")
        #expect(found.partitions == 6)
        #expect(found.replicationFactor == 3)
    }

    @Test func brokerOutageIsRetriedAndNothingIsLost() async throws {
        let cluster = try MockCluster(brokers: 1)
        let topic = TestKafka.topic()
        try cluster.createTopic(topic, partitions: 1)
        let producer = try TestKafka.producer(cluster)
        _ = try await producer.send(OutgoingRecord(topic: topic, key: "k", value: Array("before".utf8)))
        try cluster.setBroker(1, up: false)
        // Sent while the broker is down: librdkafka keeps it and retries; it lands once the broker is back.
        let outcome = Observed<Result<DeliveryReport, KafkaError>?>(nil)
        try producer.send(OutgoingRecord(topic: topic, key: "k", value: Array("during".utf8))) { result in
            outcome.update { $0 = result }
        }
        let early = await outcome.wait(upTo: .seconds(2)) { $0 != nil }
        #expect(early == nil, "delivered while the only broker was down: \(String(describing: early))")
        try cluster.setBroker(1, up: true)
        let landed = await outcome.wait(upTo: .seconds(30)) { $0 != nil }
        let result = try #require(landed ?? nil, "not delivered within 30 s of the broker coming back")
        let report = try result.get()
        #expect(report.offset == 1)
        await producer.shutdown()
    }
}
