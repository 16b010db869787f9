import CRdKafka

/// A Kafka record header. Values are bytes; most of the fleet's headers are UTF-8 text.
public struct KafkaHeader: Sendable, Hashable {
    public var name: String
    public var value: [UInt8]?

    public init(name: String, value: [UInt8]?) {
        self.name = name
        self.value = value
    }

    public init(name: String, text: String) {
        self.init(name: name, value: Array(text.utf8))
    }

    /// The value as UTF-8 text.
    public var text: String? { value.map { String(decoding: $0, as: UTF8.self) } }
}

extension Array where Element == KafkaHeader {
    /// The last header with this name (Kafka allows repeats; the last one wins).
    public func last(named name: String) -> KafkaHeader? { last { $0.name == name } }
}

/// One partition of one topic.
public struct TopicPartition: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public init(_ topic: String, _ partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public var description: String { "\(topic)[\(partition)]" }

    public static func < (lhs: TopicPartition, rhs: TopicPartition) -> Bool {
        (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition)
    }
}

/// A record read from Kafka. Key, value and headers are copied out of librdkafka's buffers.
public struct ConsumedRecord: Sendable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var headers: [KafkaHeader]
    /// Record timestamp in milliseconds since the epoch, if the record has one.
    public var timestamp: Int64?

    public init(
        topic: String, partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8]?, headers: [KafkaHeader],
        timestamp: Int64?
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
    }

    public var topicPartition: TopicPartition { TopicPartition(topic, partition) }
    public var keyString: String? { key.map { String(decoding: $0, as: UTF8.self) } }
}

/// A record to produce.
public struct OutgoingRecord: Sendable {
    public var topic: String
    /// nil lets the partitioner choose from the key (murmur2, as the Java client).
    public var partition: Int32?
    public var key: [UInt8]?
    /// nil produces a tombstone (a delete in a compacted topic).
    public var value: [UInt8]?
    public var headers: [KafkaHeader]

    public init(topic: String, partition: Int32? = nil, key: [UInt8]?, value: [UInt8]?, headers: [KafkaHeader] = []) {
        self.topic = topic
        self.partition = partition
        self.key = key
        self.value = value
        self.headers = headers
    }

    public init(topic: String, partition: Int32? = nil, key: String, value: [UInt8]?, headers: [KafkaHeader] = []) {
        self.init(topic: topic, partition: partition, key: Array(key.utf8), value: value, headers: headers)
    }
}

/// Where a produced record landed, once the broker acknowledged it.
public struct DeliveryReport: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
}

/// Low and high watermarks of a partition, the group's committed offset and the consumer's position.
public struct PartitionLag: Sendable, Hashable {
    public var topicPartition: TopicPartition
    public var low: Int64
    public var high: Int64
    /// The committed offset of the group, nil if none.
    public var committed: Int64?
    /// The consumer's fetch position, nil if it has not fetched yet.
    public var position: Int64?

    /// Records not yet committed by the group.
    public var lag: Int64 { max(0, high - (committed ?? low)) }
}

// MARK: - C helpers shared by the clients

extension ConsumedRecord {
    /// Copies a consumed message out of librdkafka. Does not destroy it. `topicName` maps a
    /// topic handle to its name (cached by the consumer: one String per topic, not per record).
    init(copying m: UnsafeMutablePointer<rd_kafka_message_t>, topicName: (OpaquePointer?) -> String) {
        let msg = m.pointee
        let topic = topicName(msg.rkt)
        let key: [UInt8]? = msg.key.map { Array(UnsafeRawBufferPointer(start: $0, count: msg.key_len)) }
        let value: [UInt8]? = msg.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: msg.len)) }
        var headers: [KafkaHeader] = []
        var hdrs: OpaquePointer?
        if rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR, let hdrs {
            var index = 0
            var name: UnsafePointer<CChar>?
            var val: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(hdrs, index, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                headers.append(
                    KafkaHeader(
                        name: String(cString: name!),
                        value: val.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }))
                index += 1
            }
        }
        var tstype = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let ts = rd_kafka_message_timestamp(m, &tstype)
        self.init(
            topic: topic, partition: msg.partition, offset: msg.offset, key: key, value: value, headers: headers,
            timestamp: tstype == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : ts)
    }
}

/// An owned `rd_kafka_topic_partition_list_t`.
final class NativePartitionList {
    let pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>

    init(capacity: Int) {
        pointer = rd_kafka_topic_partition_list_new(Int32(max(capacity, 1)))
    }

    convenience init(_ partitions: some Collection<TopicPartition>, offset: (TopicPartition) -> Int64? = { _ in nil }) {
        self.init(capacity: partitions.count)
        for tp in partitions {
            let el = rd_kafka_topic_partition_list_add(pointer, tp.topic, tp.partition)!
            if let o = offset(tp) { el.pointee.offset = o }
        }
    }

    deinit { rd_kafka_topic_partition_list_destroy(pointer) }

    /// Reads a list librdkafka owns.
    static func entries(of list: UnsafePointer<rd_kafka_topic_partition_list_t>) -> [(
        TopicPartition, Int64, rd_kafka_resp_err_t
    )] {
        let l = list.pointee
        return (0..<Int(l.cnt)).map { i in
            let e = l.elems[i]
            return (TopicPartition(String(cString: e.topic), e.partition), e.offset, e.err)
        }
    }

    var entries: [(TopicPartition, Int64, rd_kafka_resp_err_t)] { Self.entries(of: pointer) }
}

/// Text of a NUL-terminated `errstr` buffer filled by librdkafka.
func errorText(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
