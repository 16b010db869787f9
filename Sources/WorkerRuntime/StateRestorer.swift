import Kafka
import Logging

/// Reads changelog partitions from the beginning to their current end into memory.
enum StateRestorer {
    static func restore<Value: StateValue>(
        _ type: Value.Type, changelog: String, partitions: [Int32], configuration: KafkaConfiguration,
        logger: Logger, timeout: Duration
    ) throws(WorkerError) -> [Int32: [String: Value]] {
        var result = Dictionary(uniqueKeysWithValues: partitions.map { ($0, [String: Value]()) })
        guard !partitions.isEmpty else { return result }
        var config = configuration
        for key in ["group.id", "group.instance.id", "partition.assignment.strategy"] { config[key] = nil }
        config["enable.auto.commit"] = "false"
        config["queued.min.messages"] = "100000"
        do {
            let consumer = try KafkaConsumer(configuration: config, name: "restore", logger: logger)
            defer { consumer.close() }
            var ends: [Int32: Int64] = [:]
            for p in partitions {
                let (low, high) = try consumer.watermarks(TopicPartition(changelog, p), timeout: timeout)
                if high > low { ends[p] = high }
            }
            guard !ends.isEmpty else { return result }
            try consumer.assign(Dictionary(uniqueKeysWithValues: ends.keys.map { (TopicPartition(changelog, $0), KafkaOffset.beginning) }))
            let deadline = ContinuousClock.now + timeout
            var records = 0
            while !ends.isEmpty {
                guard ContinuousClock.now < deadline else {
                    throw WorkerError.restoreFailed(partition: ends.keys.min()!, reason: "changelog \(changelog) not read to its end within \(timeout)")
                }
                guard let record = try consumer.poll(timeout: .milliseconds(200)) else { continue }
                records += 1
                if let key = record.keyString {
                    if let value = record.value {
                        do {
                            result[record.partition, default: [:]][key] = try Value(stateBytes: value)
                        } catch {
                            throw WorkerError.restoreFailed(partition: record.partition, reason: "key \(key) at offset \(record.offset): \(error.reason)")
                        }
                    } else {
                        result[record.partition]?[key] = nil
                    }
                }
                if let end = ends[record.partition], record.offset + 1 >= end { ends[record.partition] = nil }
            }
            logger.info("state restored", metadata: [
                "changelog": "\(changelog)", "partitions": "\(partitions)", "records": "\(records)",
                "keys": "\(result.values.reduce(0) { $0 + $1.count })",
            ])
            return result
        } catch let error as KafkaError {
            throw .kafka(error)
        } catch let error as WorkerError {
            throw error
        } catch {
            throw .restoreFailed(partition: partitions[0], reason: "\(error)")
        }
    }
}
