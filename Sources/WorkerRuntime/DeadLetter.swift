import Kafka

/// Why a record was rejected: a short machine code for metrics and a reason a person can act on.
public struct Rejection: Error, Sendable, Hashable {
    /// Stable, low-cardinality code, e.g. `invalid_json`, `missing_field`, `too_large`.
    public var code: String
    /// Human text, e.g. "occurred_at: not RFC 3339".
    public var reason: String

    public init(code: String, reason: String) {
        self.code = code
        self.reason = reason
    }
}

/// Builds dead-letter records: the original bytes and headers, plus headers naming the reason,
/// the stage and where the record came from. One path for every stage.
public enum DeadLetter {
    public static let reasonHeader = "dlt.reason"
    public static let codeHeader = "dlt.code"
    public static let stageHeader = "dlt.stage"
    public static let topicHeader = "dlt.source.topic"
    public static let partitionHeader = "dlt.source.partition"
    public static let offsetHeader = "dlt.source.offset"

    public static func record(for record: ConsumedRecord, rejection: Rejection, stage: String, topic: String) -> OutgoingRecord {
        var headers = record.headers
        headers.append(KafkaHeader(name: reasonHeader, text: rejection.reason))
        headers.append(KafkaHeader(name: codeHeader, text: rejection.code))
        headers.append(KafkaHeader(name: stageHeader, text: stage))
        headers.append(KafkaHeader(name: topicHeader, text: record.topic))
        headers.append(KafkaHeader(name: partitionHeader, text: String(record.partition)))
        headers.append(KafkaHeader(name: offsetHeader, text: String(record.offset)))
        return OutgoingRecord(topic: topic, key: record.key, value: record.value, headers: headers)
    }
}
