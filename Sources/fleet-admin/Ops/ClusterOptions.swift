import ArgumentParser
import Contracts
import Foundation
import Kafka
import Logging
import WorkerRuntime

/// How an admin command reaches the cluster: the workers' environment (`KAFKA_BROKERS`, any
/// `KAFKA_*` property for TLS and SASL, `TOPIC_PREFIX`), with `--brokers` and `--prefix` over it.
struct ClusterOptions: ParsableArguments {
    @Option(help: "Bootstrap servers (default: KAFKA_BROKERS).") var brokers: String?
    @Option(help: "Prefix before every topic name (default: TOPIC_PREFIX).") var prefix: String?

    /// The worker settings the environment gives, with the options over them. Secret values are
    /// never printed (errors name the variable only).
    func settings() throws -> WorkerSettings {
        var env = ProcessInfo.processInfo.environment
        if let brokers { env["KAFKA_BROKERS"] = brokers }
        var settings = try WorkerSettings.fromEnvironment(stage: "fleet-admin", env)
        if let prefix { settings.topicPrefix = prefix }
        return settings
    }

    /// A topic name as given, or with the prefix when the name is a catalog name without it.
    func topic(_ name: String, settings: WorkerSettings) -> String {
        settings.topicPrefix.isEmpty || name.hasPrefix(settings.topicPrefix) ? name : settings.topicPrefix + name
    }

    static var quietLogger: Logger {
        var logger = Logger(label: "fleet-admin")
        logger.logLevel = .error
        return logger
    }
}

/// `--since`: an RFC 3339 time, a date (`2026-11-20`), or a duration back from now (`2h`, `7d`).
enum SinceArgument {
    static func parse(_ text: String?, clock: WallClock = .system) throws -> Timestamp? {
        guard let text else { return nil }
        if let t = TimeArgument.parse(text) { return t }
        if let ms = TimeArgument.duration(text) {
            return Timestamp(millisecondsSinceEpoch: clock.milliseconds() - ms)
        }
        throw ValidationError(
            "--since \(text): give an RFC 3339 time, a date YYYY-MM-DD, or a duration such as 2h or 7d")
    }
}
