import Kafka

/// The one error type of the worker runtime.
public enum WorkerError: Error, CustomStringConvertible, Sendable {
    /// A setting is missing or wrong. `source` names the environment variable or file, `key` the
    /// setting; the worker stops at start with this message.
    case configuration(source: String, key: String, reason: String)
    /// The Kafka layer failed; see `KafkaError.kind` for whether a restart can help.
    case kafka(KafkaError)
    /// A produced output could not be delivered after librdkafka's own retries: the worker stops
    /// without committing past the record that caused it, so a restart reprocesses it.
    case deliveryFailed(record: String, error: KafkaError)
    /// Restoring a partition's state from its changelog failed.
    case restoreFailed(partition: Int32, reason: String)

    public var description: String {
        switch self {
        case .configuration(let source, let key, let reason): "configuration error in \(source): \(key): \(reason)"
        case .kafka(let error): "\(error)"
        case .deliveryFailed(let record, let error): "output of \(record) not delivered: \(error)"
        case .restoreFailed(let partition, let reason): "state restore of partition \(partition) failed: \(reason)"
        }
    }
}
