import CRdKafka

/// The one error type of the Kafka layer. It says whether retrying can help and carries
/// librdkafka's error code and text.
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    /// What a caller can do about the error.
    public enum Kind: String, Sendable {
        /// A configuration property was rejected (unknown key, bad value). Fix the settings.
        case configuration
        /// The client is unusable (for example an idempotent producer fenced or out of sequence).
        /// Stop the worker and let it restart.
        case fatal
        /// Transient: the broker, the network or a full queue. The same call may succeed later.
        case retriable
        /// The request itself is wrong (unknown topic, record too large, invalid partition):
        /// retrying the same request will fail again.
        case permanent
        /// The client was shut down while the call was pending.
        case shutdown
    }

    public let kind: Kind
    /// librdkafka's `rd_kafka_resp_err_t` value (0 where there is none, as for configuration errors).
    public let code: Int32
    /// librdkafka's symbolic name of the code, e.g. `_MSG_TIMED_OUT`, `UNKNOWN_TOPIC_OR_PART`.
    public let codeName: String
    /// Human text. Never contains a secret property value.
    public let message: String

    public init(kind: Kind, code: Int32 = 0, codeName: String = "", message: String) {
        self.kind = kind
        self.code = code
        self.codeName = codeName
        self.message = message
    }

    public var isRetriable: Bool { kind == .retriable }
    public var isFatal: Bool { kind == .fatal }

    public var description: String {
        codeName.isEmpty ? "kafka \(kind.rawValue): \(message)" : "kafka \(kind.rawValue) [\(codeName)]: \(message)"
    }

    /// Classifies a librdkafka response code.
    init(code: rd_kafka_resp_err_t, context: String? = nil, fatal: Bool = false) {
        let text = String(cString: rd_kafka_err2str(code))
        let name = String(cString: rd_kafka_err2name(code))
        self.init(
            kind: fatal ? .fatal : Self.classify(code), code: code.rawValue, codeName: name,
            message: context.map { "\($0): \(text)" } ?? text)
    }

    /// Takes ownership of an `rd_kafka_error_t` and destroys it.
    init(consuming error: OpaquePointer, context: String? = nil) {
        defer { rd_kafka_error_destroy(error) }
        let code = rd_kafka_error_code(error)
        let text = String(cString: rd_kafka_error_string(error))
        let kind: Kind =
            rd_kafka_error_is_fatal(error) != 0
            ? .fatal
            : rd_kafka_error_is_retriable(error) != 0 ? .retriable : Self.classify(code)
        self.init(
            kind: kind, code: code.rawValue, codeName: String(cString: rd_kafka_error_name(error)),
            message: context.map { "\($0): \(text)" } ?? text)
    }

    static func classify(_ code: rd_kafka_resp_err_t) -> Kind {
        switch code {
        case RD_KAFKA_RESP_ERR__FATAL, RD_KAFKA_RESP_ERR__FENCED, RD_KAFKA_RESP_ERR_PRODUCER_FENCED,
            RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID,
            RD_KAFKA_RESP_ERR__AUTHENTICATION, RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED,
            RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED,
            RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
            return .fatal
        case RD_KAFKA_RESP_ERR__DESTROY:
            return .shutdown
        case RD_KAFKA_RESP_ERR__QUEUE_FULL, RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT,
            RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR__RESOLVE,
            RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
            RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
            RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND, RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
            RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
            RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS, RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION,
            RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION,
            RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE, RD_KAFKA_RESP_ERR__WAIT_COORD, RD_KAFKA_RESP_ERR__IN_PROGRESS,
            RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR, RD_KAFKA_RESP_ERR_THROTTLING_QUOTA_EXCEEDED:
            return .retriable
        default:
            return .permanent
        }
    }

    static func check(_ code: rd_kafka_resp_err_t, _ context: String) throws(KafkaError) {
        if code != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(code: code, context: context) }
    }

    static let shutdown = KafkaError(kind: .shutdown, message: "the Kafka client is shut down")
}
