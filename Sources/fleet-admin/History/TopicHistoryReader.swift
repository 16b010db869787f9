import Foundation
import Kafka
import Logging
import WorkerRuntime

/// Reads whole topics of the cluster for the history reports: every partition from its first
/// record up to the end it had when reading began (records written meanwhile are left for the
/// next run). Assigns partitions itself: no consumer group offset is committed.
struct TopicHistoryReader {
    let configuration: KafkaConfiguration
    let admin: KafkaAdmin
    let prefix: String
    /// A topic that makes no progress for this long is read as far as it got (and says so).
    let stallTimeout: Duration
    let logger: Logger

    /// Settings from the environment: KAFKA_BROKERS (or `brokers`), any KAFKA_* property (TLS,
    /// SASL) and TOPIC_PREFIX (or `prefix`).
    init(brokers: String?, prefix: String?, stallTimeout: Duration = .seconds(30)) throws {
        var env = ProcessInfo.processInfo.environment
        if let brokers { env["KAFKA_BROKERS"] = brokers }
        let settings = try WorkerSettings.fromEnvironment(stage: "fleet-admin", env)
        var logger = Logger(label: "fleet-admin")
        logger.logLevel = .error
        var config = settings.kafka.merging(settings.consumerOverrides)
        config["group.id"] = "fleet-admin-report"
        config["enable.auto.commit"] = "false"
        config["enable.partition.eof"] = "false"
        self.configuration = config
        self.admin = try KafkaAdmin(configuration: settings.producerConfiguration, logger: logger)
        self.prefix = prefix ?? settings.topicPrefix
        self.stallTimeout = stallTimeout
        self.logger = logger
    }

    /// Hands every record of `topic` (prefixed) to `body`; returns how many were read. A topic
    /// that does not exist is an error naming it.
    func read(_ topic: String, _ body: (ConsumedRecord) throws -> Void) async throws -> Int {
        let name = prefix + topic
        guard let description = try await admin.listTopics()[name] else {
            throw HistoryCommandError(message: "topic \(name) not found on the cluster")
        }
        let consumer = try KafkaConsumer(configuration: configuration, name: "report-\(topic)", logger: logger)
        defer { consumer.close() }
        var ends: [Int32: Int64] = [:]
        var starts: [TopicPartition: Int64] = [:]
        for p in 0..<Int32(description.partitions) {
            let marks = try consumer.watermarks(TopicPartition(name, p))
            if marks.high > marks.low {
                ends[p] = marks.high
                starts[TopicPartition(name, p)] = marks.low
            }
        }
        guard !starts.isEmpty else { return 0 }
        try consumer.assign(starts)
        var count = 0
        var lastProgress = ContinuousClock.now
        while !ends.isEmpty {
            let batch = try consumer.poll(max: 1_000, timeout: .milliseconds(200))
            if !batch.isEmpty { lastProgress = ContinuousClock.now }
            for record in batch {
                guard let end = ends[record.partition], record.offset < end else { continue }
                try body(record)
                count += 1
                if record.offset >= end - 1 { ends[record.partition] = nil }
            }
            // The end may be a transaction marker or a compacted-away record: the position says so.
            for (tp, position) in try consumer.positions(ends.keys.map { TopicPartition(name, $0) }) {
                if let position, let end = ends[tp.partition], position >= end { ends[tp.partition] = nil }
            }
            if !ends.isEmpty, ContinuousClock.now - lastProgress >= stallTimeout {
                FileHandle.standardError.write(
                    Data("warning: \(name): no progress for \(stallTimeout); read \(count) records\n".utf8))
                break
            }
        }
        return count
    }
}
