import CRdKafka
import Logging

/// librdkafka's mock cluster: real Kafka protocol on 127.0.0.1, hosted in this process and reachable
/// over TCP by other processes through `bootstrapServers`. Used as the local broker of the embedded
/// default and by the integration tests. Its limits (no Admin API, no compaction, 5 MiB per
/// partition, transactions not real) are listed in the README.
// @unchecked: immutable pointers to a thread-safe librdkafka mock cluster, destroyed once in deinit.
public final class MockCluster: @unchecked Sendable {
    private let owner: OpaquePointer
    private let cluster: OpaquePointer
    /// `host:port,...` of the mock brokers. Ports are chosen by the OS.
    public let bootstrapServers: String
    public let brokerCount: Int

    public init(brokers: Int = 1) throws(KafkaError) {
        var errstr = [CChar](repeating: 0, count: 512)
        guard let conf = rd_kafka_conf_new() else {
            throw KafkaError(kind: .fatal, message: "rd_kafka_conf_new failed")
        }
        rd_kafka_conf_set(conf, "log_level", "3", &errstr, errstr.count)
        guard let rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, &errstr, errstr.count) else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError(kind: .fatal, message: errorText(errstr))
        }
        guard let cluster = rd_kafka_mock_cluster_new(rk, Int32(brokers)) else {
            rd_kafka_destroy(rk)
            throw KafkaError(kind: .fatal, message: "could not start the mock cluster")
        }
        self.owner = rk
        self.cluster = cluster
        self.brokerCount = brokers
        self.bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
    }

    deinit {
        rd_kafka_mock_cluster_destroy(cluster)
        rd_kafka_destroy(owner)
    }

    /// Creates a topic (the mock has no CreateTopics API and takes no topic configs).
    public func createTopic(_ name: String, partitions: Int, replicationFactor: Int = 1) throws(KafkaError) {
        try KafkaError.check(
            rd_kafka_mock_topic_create(cluster, name, Int32(partitions), Int32(min(replicationFactor, brokerCount))),
            "create topic \(name)")
    }

    /// Makes every request fail by dropping its connection (`true`), as brokers that die under
    /// their clients do, or serves again (`false`): an outage that leaves the brokers' listeners
    /// alone. (`setBroker(_:up:)` closes a listener and binds its port again at once, and
    /// librdkafka 2.0.2 aborts the process when that bind fails.) Up to 1,000 requests of each
    /// kind fail; clients back off between reconnects, so that covers outages of several seconds.
    public func failEveryRequest(_ failing: Bool) {
        for apiKey in Int16(0)...Int16(Self.highestApiKey) {
            if failing {
                var errors = [rd_kafka_resp_err_t](repeating: RD_KAFKA_RESP_ERR__TRANSPORT, count: 1000)
                rd_kafka_mock_push_request_errors_array(cluster, apiKey, errors.count, &errors)
            } else {
                rd_kafka_mock_clear_request_errors(cluster, apiKey)
            }
        }
    }

    /// Above every request kind the mock of librdkafka 2.0.2 answers.
    static let highestApiKey = 70

    /// Takes a broker down (connections refused) or brings it back, to test outages.
    public func setBroker(_ id: Int32, up: Bool) throws(KafkaError) {
        let code = up ? rd_kafka_mock_broker_set_up(cluster, id) : rd_kafka_mock_broker_set_down(cluster, id)
        try KafkaError.check(code, up ? "broker up" : "broker down")
    }
}
