import BlockingWork
import CRdKafka
import Logging

/// A topic as the admin client creates or finds it.
public struct TopicDescription: Sendable, Hashable {
    public var name: String
    public var partitions: Int
    public var replicationFactor: Int
    /// Topic-level configs (`cleanup.policy`, `retention.ms`, `min.insync.replicas`, ...).
    /// From `describe`, only the non-default ones the broker reports.
    public var configs: [String: String]

    public init(name: String, partitions: Int, replicationFactor: Int, configs: [String: String] = [:]) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.configs = configs
    }
}

/// Topic administration over Kafka's Admin API: create topics with partitions, replication and
/// configs; describe them; add partitions. Every call is blocking work run off the cooperative pool.
// @unchecked: holds an immutable, thread-safe librdkafka handle; calls run on a queue of their own.
public final class KafkaAdmin: @unchecked Sendable {
    let handle: OpaquePointer
    private let context: ClientContext
    private let timeout: Duration

    public init(configuration: KafkaConfiguration, logger: Logger, timeout: Duration = .seconds(30)) throws(KafkaError)
    {
        let (rk, context) = try ClientContext.makeClient(
            RD_KAFKA_PRODUCER, configuration: configuration, name: "admin", logger: logger)
        self.handle = rk
        self.context = context
        self.timeout = timeout
    }

    deinit { rd_kafka_destroy(handle) }

    /// Topic names and their partition counts and replication factors, from cluster metadata.
    public func listTopics() async throws(KafkaError) -> [String: TopicDescription] {
        try await BlockingThread.run { [self] () throws(KafkaError) in try self.metadata() }
    }

    /// Creates the topics; a topic that already exists is reported as such in the result, not
    /// thrown. Returns each topic's error, nil where it was created.
    public func createTopics(_ topics: [TopicDescription]) async throws(KafkaError) -> [String: KafkaError?] {
        try await BlockingThread.run { [self] () throws(KafkaError) in
            var errstr = [CChar](repeating: 0, count: 512)
            var newTopics: [OpaquePointer?] = []
            defer { for topic in newTopics { rd_kafka_NewTopic_destroy(topic) } }
            for topic in topics {
                guard
                    let nt = rd_kafka_NewTopic_new(
                        topic.name, Int32(topic.partitions), Int32(topic.replicationFactor), &errstr, errstr.count)
                else {
                    throw KafkaError(kind: .permanent, message: "topic \(topic.name): \(errorText(errstr))")
                }
                newTopics.append(nt)
                for (key, value) in topic.configs.sorted(by: { $0.key < $1.key }) {
                    try KafkaError.check(
                        rd_kafka_NewTopic_set_config(nt, key, value), "topic \(topic.name) config \(key)")
                }
            }
            return try self.runAdmin(RD_KAFKA_ADMIN_OP_CREATETOPICS, expect: RD_KAFKA_EVENT_CREATETOPICS_RESULT) {
                options, queue in
                rd_kafka_CreateTopics(self.handle, &newTopics, newTopics.count, options, queue)
            } read: { event in
                var count = 0
                let result = rd_kafka_event_CreateTopics_result(event)
                let results = rd_kafka_CreateTopics_result_topics(result, &count)
                return Self.topicResults(results, count)
            }
        }
    }

    /// Raises a topic's partition count to `total`.
    public func addPartitions(topic: String, total: Int) async throws(KafkaError) {
        let results: [String: KafkaError?] = try await BlockingThread.run { [self] () throws(KafkaError) in
            var errstr = [CChar](repeating: 0, count: 512)
            guard let np = rd_kafka_NewPartitions_new(topic, total, &errstr, errstr.count) else {
                throw KafkaError(kind: .permanent, message: "topic \(topic): \(errorText(errstr))")
            }
            var list: [OpaquePointer?] = [np]
            defer { rd_kafka_NewPartitions_destroy(np) }
            return try self.runAdmin(RD_KAFKA_ADMIN_OP_CREATEPARTITIONS, expect: RD_KAFKA_EVENT_CREATEPARTITIONS_RESULT)
            { options, queue in
                rd_kafka_CreatePartitions(self.handle, &list, 1, options, queue)
            } read: { event in
                var count = 0
                let results = rd_kafka_CreatePartitions_result_topics(
                    rd_kafka_event_CreatePartitions_result(event), &count)
                return Self.topicResults(results, count)
            }
        }
        if let error = results[topic] ?? nil { throw error }
    }

    /// Partitions, replication factor and the configs the broker reports as set on each topic.
    public func describeTopics(_ names: [String]) async throws(KafkaError) -> [String: TopicDescription] {
        try await BlockingThread.run { [self] () throws(KafkaError) in
            var found = try self.metadata().filter { names.contains($0.key) }
            var resources: [OpaquePointer?] = found.keys.sorted().map {
                rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, $0)
            }
            defer { for resource in resources { rd_kafka_ConfigResource_destroy(resource) } }
            guard !resources.isEmpty else { return found }
            let configs: [String: [String: String]] = try self.runAdmin(
                RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, expect: RD_KAFKA_EVENT_DESCRIBECONFIGS_RESULT
            ) { options, queue in
                rd_kafka_DescribeConfigs(self.handle, &resources, resources.count, options, queue)
            } read: { event in
                var count = 0
                let described = rd_kafka_DescribeConfigs_result_resources(
                    rd_kafka_event_DescribeConfigs_result(event), &count)
                var out: [String: [String: String]] = [:]
                for i in 0..<count {
                    guard let resource = described?[i] else { continue }
                    let name = String(cString: rd_kafka_ConfigResource_name(resource))
                    var n = 0
                    let entries = rd_kafka_ConfigResource_configs(resource, &n)
                    var values: [String: String] = [:]
                    for j in 0..<n {
                        guard let entry = entries?[j], rd_kafka_ConfigEntry_is_default(entry) == 0,
                            rd_kafka_ConfigEntry_is_sensitive(entry) == 0, let value = rd_kafka_ConfigEntry_value(entry)
                        else { continue }
                        values[String(cString: rd_kafka_ConfigEntry_name(entry))] = String(cString: value)
                    }
                    out[name] = values
                }
                return out
            }
            for (name, values) in configs { found[name]?.configs = values }
            return found
        }
    }

    // MARK: - Plumbing

    private func metadata() throws(KafkaError) -> [String: TopicDescription] {
        var md: UnsafePointer<rd_kafka_metadata>?
        try KafkaError.check(rd_kafka_metadata(handle, 1, nil, &md, Int32(timeout.milliseconds)), "metadata")
        guard let md else { return [:] }
        defer { rd_kafka_metadata_destroy(md) }
        var out: [String: TopicDescription] = [:]
        for i in 0..<Int(md.pointee.topic_cnt) {
            let t = md.pointee.topics[i]
            guard t.err == RD_KAFKA_RESP_ERR_NO_ERROR else { continue }
            let name = String(cString: t.topic)
            let replication = t.partition_cnt > 0 ? Int(t.partitions[0].replica_cnt) : 0
            out[name] = TopicDescription(name: name, partitions: Int(t.partition_cnt), replicationFactor: replication)
        }
        return out
    }

    private func runAdmin<T>(
        _ op: rd_kafka_admin_op_t, expect: Int32,
        call: (OpaquePointer?, OpaquePointer?) -> Void,
        read: (OpaquePointer) -> T
    ) throws(KafkaError) -> T {
        let queue = rd_kafka_queue_new(handle)
        defer { rd_kafka_queue_destroy(queue) }
        let options = rd_kafka_AdminOptions_new(handle, op)
        defer { rd_kafka_AdminOptions_destroy(options) }
        var errstr = [CChar](repeating: 0, count: 512)
        rd_kafka_AdminOptions_set_request_timeout(options, Int32(timeout.milliseconds), &errstr, errstr.count)
        rd_kafka_AdminOptions_set_operation_timeout(options, Int32(timeout.milliseconds), &errstr, errstr.count)
        call(options, queue)
        guard let event = rd_kafka_queue_poll(queue, Int32(timeout.milliseconds) + 5000) else {
            throw KafkaError(kind: .retriable, message: "admin request timed out")
        }
        defer { rd_kafka_event_destroy(event) }
        let err = rd_kafka_event_error(event)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(code: err, context: rd_kafka_event_error_string(event).map { String(cString: $0) })
        }
        guard rd_kafka_event_type(event) == expect else {
            throw KafkaError(kind: .permanent, message: "unexpected admin result type \(rd_kafka_event_type(event))")
        }
        return read(event)
    }

    private static func topicResults(_ results: UnsafeMutablePointer<OpaquePointer?>?, _ count: Int) -> [String:
        KafkaError?]
    {
        var out: [String: KafkaError?] = [:]
        for i in 0..<count {
            guard let r = results?[i] else { continue }
            let name = String(cString: rd_kafka_topic_result_name(r))
            let err = rd_kafka_topic_result_error(r)
            out[name] =
                err == RD_KAFKA_RESP_ERR_NO_ERROR
                ? nil
                : KafkaError(
                    code: err, context: rd_kafka_topic_result_error_string(r).map { String(cString: $0) } ?? name)
        }
        return out
    }
}
