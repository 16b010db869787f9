import Foundation
import Kafka

/// Settings every worker takes from its environment, so a Helm chart can drive it.
///
/// | variable | meaning | default |
/// |---|---|---|
/// | `KAFKA_BROKERS` | bootstrap servers (`host:port,...`) | required |
/// | `KAFKA_<PROPERTY>` | any librdkafka property: upper case, `.` as `_`, `_` as `__` (`KAFKA_SECURITY_PROTOCOL=SASL_SSL` gives `security.protocol`, `KAFKA_SASL_PASSWORD` gives `sasl.password`) | |
/// | `KAFKA_CONSUMER_<PROPERTY>` / `KAFKA_PRODUCER_<PROPERTY>` | the same, for one client only | |
/// | `TOPIC_PREFIX` | prefix of every topic name (`prod.` gives `prod.account-events`) | empty |
/// | `GROUP_ID` | consumer group | the stage name |
/// | `HTTP_PORT` | port of `/healthz`, `/readyz`, `/metrics`; 0 picks a free port (logged) | 8080 |
/// | `HTTP_HOST` | address to bind | `0.0.0.0` |
/// | `HTTP_IDLE_TIMEOUT_MS`, `HTTP_REQUEST_TIMEOUT_MS`, `HTTP_MAX_CONNECTIONS`, `HTTP_MAX_HEADER_BYTES`, `HTTP_MAX_BODY_BYTES` | the limits of every HTTP listener (`HTTPLimits`) | 10000, 15000, 128, 16384, 16384 |
/// | `LOG_LEVEL` | trace, debug, info, notice, warning, error, critical | info |
/// | `LOG_FORMAT` | `json` or `text` | json |
/// | `COMMIT_INTERVAL_MS` | how often state is flushed and offsets committed | 1000 |
/// | `SHUTDOWN_TIMEOUT_MS` | the whole stop budget from SIGTERM to exit (drain, commit, leave, flush); keep Kubernetes' grace period above it | 25000 |
/// | `MAX_RECORD_BYTES` | larger input records go to the DLT (`too_large`) unread | 1048576 |
/// | `MAX_CLOCK_SKEW_MS` | event times further ahead of the wall clock go to the DLT | 600000 |
/// | `RESTORE_STALL_TIMEOUT_MS` | a restore fails (and is retried) after this long without progress | 30000 |
/// | `STANDBY_REPLICAS` | `all`: keep a warm copy of every changelog partition (a moved partition restores only the tail); `none` | none |
/// | `STANDBY_WARMUP_TIMEOUT_MS` | with standbys, how long a starting worker reads the changelog before it joins its group | 120000 |
public struct WorkerSettings: Sendable {
    public var stage: String
    /// Properties for both clients.
    public var kafka: KafkaConfiguration
    public var consumerOverrides: [String: String]
    public var producerOverrides: [String: String]
    public var topicPrefix: String
    public var groupId: String
    public var httpHost: String
    public var httpPort: Int
    public var logLevel: String
    public var logFormat: String
    public var commitInterval: Duration
    public var shutdownTimeout: Duration
    public var maxRecordBytes: Int
    public var maxClockSkew: Duration
    public var restoreStallTimeout: Duration
    /// Which changelog partitions are kept warm (`StandbyReplicas`).
    public var standby: StandbyMode
    /// With standbys: the longest a starting worker reads its changelog before it joins its group.
    public var standbyWarmUpTimeout: Duration
    /// The limits of every HTTP listener of the worker (health, and the dispatcher's feedback).
    public var httpLimits: HTTPLimits

    public init(
        stage: String, brokers: String, topicPrefix: String = "", groupId: String? = nil, httpHost: String = "0.0.0.0",
        httpPort: Int = 8080,
        logLevel: String = "info", logFormat: String = "json", commitInterval: Duration = .seconds(1),
        shutdownTimeout: Duration = .seconds(25),
        maxRecordBytes: Int = 1_048_576, maxClockSkew: Duration = .seconds(600),
        restoreStallTimeout: Duration = .seconds(30), standby: StandbyMode = .none,
        standbyWarmUpTimeout: Duration = .seconds(120),
        kafka: [String: String] = [:], consumerOverrides: [String: String] = [:],
        producerOverrides: [String: String] = [:],
        httpLimits: HTTPLimits = HTTPLimits()
    ) {
        self.stage = stage
        self.kafka = KafkaConfiguration(bootstrapServers: brokers, kafka)
        self.topicPrefix = topicPrefix
        self.groupId = groupId ?? stage
        self.httpHost = httpHost
        self.httpPort = httpPort
        self.logLevel = logLevel
        self.logFormat = logFormat
        self.commitInterval = commitInterval
        self.shutdownTimeout = shutdownTimeout
        self.maxRecordBytes = maxRecordBytes
        self.maxClockSkew = maxClockSkew
        self.restoreStallTimeout = restoreStallTimeout
        self.standby = standby
        self.standbyWarmUpTimeout = standbyWarmUpTimeout
        self.consumerOverrides = consumerOverrides
        self.producerOverrides = producerOverrides
        self.httpLimits = httpLimits
    }

    /// A topic's full name with the prefix.
    public func topic(_ name: String) -> String { topicPrefix + name }

    public var consumerConfiguration: KafkaConfiguration {
        var config = kafka.merging(consumerOverrides)
        config["group.id"] = groupId
        return config
    }

    public var producerConfiguration: KafkaConfiguration { kafka.merging(producerOverrides) }

    /// Reads the settings from environment variables; a wrong value stops the worker with the
    /// variable's name and what is wrong.
    public static func fromEnvironment(stage: String, _ env: [String: String]) throws(WorkerError) -> WorkerSettings {
        guard let brokers = env["KAFKA_BROKERS"], !brokers.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw .configuration(
                source: "environment", key: "KAFKA_BROKERS",
                reason: "missing: set it to the bootstrap servers, e.g. kafka:9092")
        }
        var shared: [String: String] = [:]
        var consumer: [String: String] = [:]
        var producer: [String: String] = [:]
        for (name, value) in env where name.hasPrefix("KAFKA_") && name != "KAFKA_BROKERS" {
            if name.hasPrefix("KAFKA_CONSUMER_") {
                consumer[propertyName(String(name.dropFirst("KAFKA_CONSUMER_".count)))] = value
            } else if name.hasPrefix("KAFKA_PRODUCER_") {
                producer[propertyName(String(name.dropFirst("KAFKA_PRODUCER_".count)))] = value
            } else {
                shared[propertyName(String(name.dropFirst("KAFKA_".count)))] = value
            }
        }
        try refusePinnedOverrides(env)
        func integer(_ key: String, _ fallback: Int, _ range: ClosedRange<Int>) throws(WorkerError) -> Int {
            guard let text = env[key] else { return fallback }
            guard let value = Int(text), range.contains(value) else {
                throw .configuration(
                    source: "environment", key: key,
                    reason: "\"\(text)\" is not a whole number in \(range.lowerBound)...\(range.upperBound)")
            }
            return value
        }
        let level = env["LOG_LEVEL"]?.lowercased() ?? "info"
        guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(level) else {
            throw .configuration(
                source: "environment", key: "LOG_LEVEL",
                reason: "\"\(level)\" is not one of trace, debug, info, notice, warning, error, critical")
        }
        let format = env["LOG_FORMAT"]?.lowercased() ?? "json"
        guard ["json", "text"].contains(format) else {
            throw .configuration(source: "environment", key: "LOG_FORMAT", reason: "\"\(format)\" is not json or text")
        }
        let standbyText = env["STANDBY_REPLICAS"]?.lowercased() ?? "none"
        guard let standby = StandbyMode(rawValue: standbyText) else {
            throw .configuration(
                source: "environment", key: "STANDBY_REPLICAS",
                reason: "\"\(standbyText.prefix(40))\" is not none or all")
        }
        let settings = WorkerSettings(
            stage: stage, brokers: brokers, topicPrefix: env["TOPIC_PREFIX"] ?? "", groupId: env["GROUP_ID"],
            httpHost: env["HTTP_HOST"] ?? "0.0.0.0", httpPort: try integer("HTTP_PORT", 8080, 0...65535),
            logLevel: level, logFormat: format,
            commitInterval: .milliseconds(try integer("COMMIT_INTERVAL_MS", 1000, 50...60_000)),
            shutdownTimeout: .milliseconds(try integer("SHUTDOWN_TIMEOUT_MS", 25_000, 100...600_000)),
            maxRecordBytes: try integer("MAX_RECORD_BYTES", 1_048_576, 1024...100_000_000),
            maxClockSkew: .milliseconds(try integer("MAX_CLOCK_SKEW_MS", 600_000, 0...31_536_000_000)),
            restoreStallTimeout: .milliseconds(try integer("RESTORE_STALL_TIMEOUT_MS", 30_000, 1000...3_600_000)),
            standby: standby,
            standbyWarmUpTimeout: .milliseconds(try integer("STANDBY_WARMUP_TIMEOUT_MS", 120_000, 0...3_600_000)),
            kafka: shared, consumerOverrides: consumer, producerOverrides: producer,
            httpLimits: HTTPLimits(
                idleTimeout: .milliseconds(try integer("HTTP_IDLE_TIMEOUT_MS", 10_000, 100...600_000)),
                requestTimeout: .milliseconds(try integer("HTTP_REQUEST_TIMEOUT_MS", 15_000, 100...600_000)),
                maxConnections: try integer("HTTP_MAX_CONNECTIONS", 128, 1...100_000),
                maxHeaderBytes: try integer("HTTP_MAX_HEADER_BYTES", 16_384, 1024...1_048_576),
                maxBodyBytes: try integer("HTTP_MAX_BODY_BYTES", 16_384, 0...1_048_576)))
        // Let librdkafka judge every property now, so a typo stops the worker at start.
        for (label, config) in [
            ("KAFKA_CONSUMER_", settings.consumerConfiguration), ("KAFKA_PRODUCER_", settings.producerConfiguration),
        ] {
            do {
                _ = try config.validate()
            } catch {
                throw .configuration(source: "environment", key: "\(label)* / KAFKA_*", reason: error.message)
            }
        }
        return settings
    }

    /// Every problem of the `KAFKA_*`, `KAFKA_CONSUMER_*` and `KAFKA_PRODUCER_*` variables in `env`,
    /// as `--check-config` reports them: each property that librdkafka itself refuses (its name or its
    /// value, checked with `rd_kafka_conf_set`) and each one that would change a pinned setting,
    /// named by the variable, sorted by it. Never a secret's value.
    public static func kafkaVariableProblems(_ env: [String: String]) -> [(variable: String, reason: String)] {
        var found: [(variable: String, reason: String)] = []
        for (name, value) in env.sorted(by: { $0.key < $1.key })
        where name.hasPrefix("KAFKA_") && name != "KAFKA_BROKERS" {
            let suffix: Substring
            let clients: [KafkaPinnedSetting.Client]
            if name.hasPrefix("KAFKA_CONSUMER_") {
                (clients, suffix) = ([.consumer], name.dropFirst("KAFKA_CONSUMER_".count))
            } else if name.hasPrefix("KAFKA_PRODUCER_") {
                (clients, suffix) = ([.producer], name.dropFirst("KAFKA_PRODUCER_".count))
            } else {
                (clients, suffix) = ([.consumer, .producer], name.dropFirst("KAFKA_".count))
            }
            let property = propertyName(String(suffix))
            guard !property.isEmpty else {
                found.append(
                    (name, "names no librdkafka property: write KAFKA_<PROPERTY>, such as KAFKA_SECURITY_PROTOCOL"))
                continue
            }
            for problem in KafkaConfiguration([property: value]).problems() {
                found.append((name, "librdkafka refuses \(property): \(problem.reason)"))
            }
            for client in clients {
                guard let pinned = KafkaPinnedSetting.violated(property: property, value: value, client: client) else {
                    continue
                }
                let shown = KafkaConfiguration.isSecret(property) ? "<redacted>" : "\"\(value.prefix(40))\""
                found.append(
                    (
                        name,
                        "\(property) is pinned to \(pinned.value) and cannot be \(shown): \(pinned.reason). Remove \(name)"
                    ))
                break
            }
        }
        return found
    }

    /// Refuses a `KAFKA_*`, `KAFKA_CONSUMER_*` or `KAFKA_PRODUCER_*` variable that would change a
    /// setting the at-least-once design relies on (`KafkaPinnedSetting.all`), naming the variable
    /// and why.
    static func refusePinnedOverrides(_ env: [String: String]) throws(WorkerError) {
        let variables = env.sorted { $0.key < $1.key }
        for (name, value) in variables where name.hasPrefix("KAFKA_") && name != "KAFKA_BROKERS" {
            let clients: [KafkaPinnedSetting.Client]
            let suffix: Substring
            if name.hasPrefix("KAFKA_CONSUMER_") {
                (clients, suffix) = ([.consumer], name.dropFirst("KAFKA_CONSUMER_".count))
            } else if name.hasPrefix("KAFKA_PRODUCER_") {
                (clients, suffix) = ([.producer], name.dropFirst("KAFKA_PRODUCER_".count))
            } else {
                (clients, suffix) = ([.consumer, .producer], name.dropFirst("KAFKA_".count))
            }
            let property = propertyName(String(suffix))
            for client in clients {
                guard let pinned = KafkaPinnedSetting.violated(property: property, value: value, client: client) else {
                    continue
                }
                throw .configuration(
                    source: "environment", key: name,
                    reason: "\(property) is pinned to \(pinned.value) and cannot be "
                        + "\"\(value.prefix(40))\": \(pinned.reason). Remove \(name)")
            }
        }
    }

    /// `SASL_MECHANISMS` -> `sasl.mechanisms`; a doubled underscore stands for a literal `_`.
    static func propertyName(_ envSuffix: String) -> String {
        envSuffix.lowercased()
            .replacingOccurrences(of: "__", with: "\u{0}")
            .replacingOccurrences(of: "_", with: ".")
            .replacingOccurrences(of: "\u{0}", with: "_")
    }
}

extension Duration {
    /// Whole milliseconds.
    var inMilliseconds: Int64 {
        let (s, atto) = components
        return s * 1000 + atto / 1_000_000_000_000_000
    }
}
