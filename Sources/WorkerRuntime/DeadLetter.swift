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
///
/// A dead letter always fits in a Kafka record: when the original is larger than `maxBytes`
/// (the producer would refuse it, and the record would come back forever as a poison pill), the
/// letter keeps a prefix of the value, `dlt.original.size` and `dlt.original.sha256` of the whole
/// value, and `dlt.truncated: true`; original headers that do not fit are dropped and counted in
/// `dlt.headers.dropped`.
public enum DeadLetter {
    public static let reasonHeader = "dlt.reason"
    public static let codeHeader = "dlt.code"
    public static let stageHeader = "dlt.stage"
    public static let topicHeader = "dlt.source.topic"
    public static let partitionHeader = "dlt.source.partition"
    public static let offsetHeader = "dlt.source.offset"
    public static let truncatedHeader = "dlt.truncated"
    public static let originalSizeHeader = "dlt.original.size"
    public static let originalHashHeader = "dlt.original.sha256"
    public static let droppedHeadersHeader = "dlt.headers.dropped"

    /// Largest dead letter written whole (key, value and headers); below librdkafka's default
    /// `message.max.bytes` of 1,000,000 with room for the record's framing.
    public static let maxBytes = 900_000
    /// The prefix of an oversized value that is kept.
    public static let truncatedPrefixBytes = 64 * 1024
    /// Room for the original headers of an oversized record.
    public static let maxOriginalHeaderBytes = 64 * 1024

    public static func record(for record: ConsumedRecord, rejection: Rejection, stage: String, topic: String)
        -> OutgoingRecord
    {
        letter(
            topic: topic, key: record.key, value: record.value, headers: record.headers, rejection: rejection,
            source: (stage, record.topic, record.partition, record.offset))
    }

    /// A dead letter for something that is not a consumed record (for example a state value that
    /// could not be decoded, or an output that could not be encoded).
    public static func letter(
        topic: String, key: [UInt8]?, value: [UInt8]?, headers: [KafkaHeader] = [], rejection: Rejection,
        source: (stage: String, topic: String, partition: Int32, offset: Int64?)
    ) -> OutgoingRecord {
        let keyBytes = key?.count ?? 0
        let valueBytes = value?.count ?? 0
        let headerBytes = headers.reduce(0) { $0 + $1.name.utf8.count + ($1.value?.count ?? 0) }
        var kept = headers
        var keptValue = value
        var extra: [KafkaHeader] = []
        if keyBytes + valueBytes + headerBytes + 4096 > maxBytes {
            if let value, keyBytes + valueBytes + 4096 > maxBytes - min(headerBytes, maxOriginalHeaderBytes) {
                keptValue = Array(value.prefix(truncatedPrefixBytes))
                extra.append(KafkaHeader(name: truncatedHeader, text: "true"))
                extra.append(KafkaHeader(name: originalSizeHeader, text: String(value.count)))
                extra.append(KafkaHeader(name: originalHashHeader, text: SHA256Hex.digest(value)))
            }
            if headerBytes > maxOriginalHeaderBytes {
                var budget = maxOriginalHeaderBytes
                kept = headers.filter { h in
                    let size = h.name.utf8.count + (h.value?.count ?? 0)
                    guard size <= budget else { return false }
                    budget -= size
                    return true
                }
                extra.append(KafkaHeader(name: droppedHeadersHeader, text: String(headers.count - kept.count)))
            }
        }
        kept.append(KafkaHeader(name: reasonHeader, text: String(rejection.reason.prefix(2000))))
        kept.append(KafkaHeader(name: codeHeader, text: rejection.code))
        kept.append(KafkaHeader(name: stageHeader, text: source.stage))
        kept.append(KafkaHeader(name: topicHeader, text: source.topic))
        kept.append(KafkaHeader(name: partitionHeader, text: String(source.partition)))
        if let offset = source.offset { kept.append(KafkaHeader(name: offsetHeader, text: String(offset))) }
        kept += extra
        let keptKey = keyBytes > truncatedPrefixBytes ? Array(key!.prefix(truncatedPrefixBytes)) : key
        return OutgoingRecord(topic: topic, key: keptKey, value: keptValue, headers: kept)
    }
}
