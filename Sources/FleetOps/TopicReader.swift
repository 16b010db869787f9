import BlockingWork
import Dispatch
import Kafka
import Logging

/// Reads a whole topic as it is now: every partition from its low to its high watermark (taken
/// when the read starts), without a consumer group, so nothing is committed and no running stage
/// is disturbed. Blocking work runs on a dispatch queue, never on the cooperative pool.
public enum TopicReader {
    /// Every record of `topic` up to the high watermarks at the start, in partition then offset
    /// order. Throws `OpsError.noSuchTopic` when the cluster does not know the topic, and a
    /// `KafkaError` when the end is not reached within `timeout` of no progress.
    public static func readAll(
        topic: String, configuration: KafkaConfiguration, logger: Logger,
        timeout: Duration = .seconds(30)
    ) async throws -> [ConsumedRecord] {
        var adminConfig = configuration
        adminConfig["group.id"] = nil
        let admin = try KafkaAdmin(configuration: adminConfig, logger: logger)
        guard let description = try await admin.listTopics()[topic] else { throw OpsError.noSuchTopic(topic) }
        let partitions = (0..<description.partitions).map { TopicPartition(topic, Int32($0)) }
        return try await BlockingThread.run { () throws(KafkaError) in
            try read(partitions, configuration: configuration, logger: logger, timeout: timeout)
        }
    }

    private static func read(
        _ partitions: [TopicPartition], configuration: KafkaConfiguration, logger: Logger,
        timeout: Duration
    ) throws(KafkaError) -> [ConsumedRecord] {
        var config = configuration
        config["group.id"] = nil
        config["enable.auto.commit"] = "false"
        config["enable.auto.offset.store"] = "false"
        let consumer = try KafkaConsumer(configuration: config, name: "topic-reader", logger: logger)
        defer { consumer.close() }
        var next: [TopicPartition: Int64] = [:]
        var end: [TopicPartition: Int64] = [:]
        for tp in partitions {
            let (low, high) = try consumer.watermarks(tp)
            if high > low {
                next[tp] = low
                end[tp] = high
            }
        }
        guard !end.isEmpty else { return [] }
        try consumer.assign(Dictionary(uniqueKeysWithValues: end.keys.map { ($0, KafkaOffset.beginning) }))
        var records: [ConsumedRecord] = []
        var lastProgress = ContinuousClock.now
        while end.contains(where: { next[$0.key]! < $0.value }) {
            let batch = try consumer.poll(max: 1000, timeout: .milliseconds(100))
            if batch.isEmpty {
                guard ContinuousClock.now - lastProgress < timeout else {
                    let left = end.filter { next[$0.key]! < $0.value }.keys.sorted().map {
                        "\($0) at \(next[$0]!) of \(end[$0]!)"
                    }
                    throw KafkaError(
                        kind: .retriable, message: "read stalled for \(timeout): \(left.joined(separator: ", "))")
                }
                continue
            }
            lastProgress = ContinuousClock.now
            for record in batch {
                let tp = record.topicPartition
                guard let stop = end[tp], record.offset < stop else { continue }
                next[tp] = max(next[tp] ?? 0, record.offset + 1)
                records.append(record)
            }
        }
        return records.sorted { ($0.partition, $0.offset) < ($1.partition, $1.offset) }
    }
}

/// What an admin operation can refuse or fail with, in words an operator can act on.
public enum OpsError: Error, Sendable, CustomStringConvertible {
    /// The cluster has no topic of that name.
    case noSuchTopic(String)
    /// A record could not be sent; the replay stopped short.
    case sendFailed(sent: Int, of: Int, reason: String)

    public var description: String {
        switch self {
        case .noSuchTopic(let name): "no topic \(name) on the cluster (is TOPIC_PREFIX / --prefix right?)"
        case .sendFailed(let sent, let total, let reason): "sent \(sent) of \(total): \(reason)"
        }
    }
}
