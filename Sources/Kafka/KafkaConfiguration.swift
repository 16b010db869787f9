import CRdKafka

/// librdkafka properties for one client, passed through as they are, so TLS and SASL settings
/// (`security.protocol`, `ssl.ca.location`, `sasl.mechanisms`, `sasl.username`, ...) reach
/// real clusters (Strimzi, MSK, Confluent) unchanged.
///
/// Values of secret properties are never shown: `description` and every error redact them.
public struct KafkaConfiguration: Sendable, CustomStringConvertible {
    public private(set) var properties: [String: String]

    public init(_ properties: [String: String] = [:]) {
        self.properties = properties
    }

    public init(bootstrapServers: String, _ extra: [String: String] = [:]) {
        self.properties = extra
        self.properties["bootstrap.servers"] = bootstrapServers
    }

    public subscript(key: String) -> String? {
        get { properties[key] }
        set { properties[key] = newValue }
    }

    /// Sets `key` unless already set by the user.
    public mutating func setDefault(_ key: String, _ value: String) {
        if properties[key] == nil { properties[key] = value }
    }

    /// Returns a copy with `other`'s properties laid over this one's.
    public func merging(_ other: [String: String]) -> KafkaConfiguration {
        KafkaConfiguration(properties.merging(other) { _, new in new })
    }

    /// Whether a property holds a secret (a password, a key, a token, a JAAS line).
    public static func isSecret(_ key: String) -> Bool {
        let k = key.lowercased()
        return k.contains("password") || k.contains("secret") || k.hasSuffix(".key.pem") || k == "ssl.key.pem"
            || k.contains("jaas") || k.contains("token") || k == "sasl.oauthbearer.config"
            || k.hasSuffix("credentials")
    }

    public var description: String {
        properties.keys.sorted().map { key in
            "\(key)=\(Self.isSecret(key) ? "<redacted>" : properties[key]!)"
        }.joined(separator: ", ")
    }

    /// Builds an `rd_kafka_conf_t`; the caller owns it (it is consumed by `rd_kafka_new`).
    func makeNativeConfiguration() throws(KafkaError) -> OpaquePointer {
        guard let conf = rd_kafka_conf_new() else {
            throw KafkaError(kind: .fatal, message: "rd_kafka_conf_new failed")
        }
        var errstr = [CChar](repeating: 0, count: 512)
        for key in properties.keys.sorted() {
            let value = properties[key]!
            let result = rd_kafka_conf_set(conf, key, value, &errstr, errstr.count)
            if result != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                let reason =
                    Self.isSecret(key)
                    ? (result == RD_KAFKA_CONF_UNKNOWN ? "unknown property" : "invalid value")
                    : errorText(errstr)
                throw KafkaError(kind: .configuration, message: "property \(key): \(reason)")
            }
        }
        return conf
    }
}

extension KafkaConfiguration {
    /// Every property librdkafka refuses (an unknown name or a value it does not accept), each with
    /// librdkafka's reason, all of them rather than the first; empty when librdkafka takes them all.
    /// No client is created. A secret property's reason never shows its value.
    public func problems() -> [(property: String, reason: String)] {
        guard let conf = rd_kafka_conf_new() else {
            return [("(all)", "rd_kafka_conf_new failed: librdkafka could not check the properties")]
        }
        defer { rd_kafka_conf_destroy(conf) }
        var found: [(property: String, reason: String)] = []
        var errstr = [CChar](repeating: 0, count: 512)
        for key in properties.keys.sorted() {
            let result = rd_kafka_conf_set(conf, key, properties[key]!, &errstr, errstr.count)
            guard result != RD_KAFKA_CONF_OK else { continue }
            let reason =
                Self.isSecret(key)
                ? (result == RD_KAFKA_CONF_UNKNOWN ? "unknown property" : "invalid value")
                : errorText(errstr).trimmingCharacters(in: .whitespacesAndNewlines)
            found.append((key, reason))
        }
        return found
    }

    /// Checks every property against librdkafka without creating a client.
    public func validate() throws(KafkaError) -> Bool {
        let conf = try makeNativeConfiguration()
        rd_kafka_conf_destroy(conf)
        return true
    }
}
