import ArgumentParser
import Foundation
import Kafka
import Logging
import WorkerRuntime

/// `fleet-admin topics apply|diff`: the topic catalog against a real cluster.
struct TopicsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topics",
        abstract: "Apply the topic catalog to a cluster, or report how the cluster differs from it.",
        subcommands: [Apply.self, Diff.self])

    struct Options: ParsableArguments {
        @OptionGroup var cluster: ClusterOptions
        @Option(help: "Topic catalog.") var file = "topics/topics.yaml"
        @Flag(help: "Skip comparing topic configs (for brokers without DescribeConfigs).") var skipConfigs = false
        @Option(help: "Seconds to wait for each answer of the cluster.") var timeout: Int = 30

        /// Settings from the environment (KAFKA_BROKERS and any KAFKA_* property for TLS and SASL,
        /// TOPIC_PREFIX), with --brokers and --prefix over them.
        func load() throws -> (TopicCatalog, KafkaAdmin, Bool) {
            let settings = try cluster.settings()
            let text = try String(contentsOfFile: file, encoding: .utf8)
            let catalog = try TopicCatalog.parse(text, file: file).prefixed(settings.topicPrefix)
            let admin = try KafkaAdmin(
                configuration: settings.producerConfiguration, logger: ClusterOptions.quietLogger,
                timeout: .seconds(max(1, timeout)))
            return (catalog, admin, !skipConfigs)
        }

        func validate() throws {
            guard timeout > 0 else { throw ValidationError("--timeout must be at least 1 second") }
        }
    }

    struct Diff: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Report drift; change nothing. Exits 1 if any topic differs.")
        @OptionGroup var options: Options

        func run() async throws {
            let (catalog, admin, configs) = try options.load()
            let drift = try await TopicsCommand.report(catalog, admin: admin, checkConfigs: configs)
            if drift.values.contains(where: { !$0.isEmpty }) { throw ExitCode(1) }
        }
    }

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create missing topics and add partitions; report what it cannot fix. Idempotent.")
        @OptionGroup var options: Options

        func run() async throws {
            let (catalog, admin, configs) = try options.load()
            let drift = try await TopicsCommand.report(catalog, admin: admin, checkConfigs: configs)
            let missing = catalog.topics.filter { drift[$0.name] == [.missing] }
            if !missing.isEmpty {
                let results = try await admin.createTopics(
                    missing.map {
                        TopicDescription(
                            name: $0.name, partitions: $0.partitions, replicationFactor: $0.replicationFactor,
                            configs: $0.configs)
                    })
                for (name, error) in results.sorted(by: { $0.key < $1.key }) {
                    print(error.map { "\(name): create failed: \($0)" } ?? "\(name): created")
                }
            }
            for topic in catalog.topics {
                for case .fewerPartitions(_, let want) in drift[topic.name] ?? [] {
                    try await admin.addPartitions(topic: topic.name, total: want)
                    print("\(topic.name): partitions raised to \(want)")
                }
            }
            let left = drift.values.flatMap { $0 }.filter { !$0.isFixable }
            if !left.isEmpty {
                print("\(left.count) difference(s) need a person: see above")
                throw ExitCode(1)
            }
        }
    }

    static func report(_ catalog: TopicCatalog, admin: KafkaAdmin, checkConfigs: Bool) async throws -> [String:
        [TopicDrift]]
    {
        let actual: [String: TopicDescription]
        do {
            actual = try await checkConfigs ? admin.describeTopics(catalog.topics.map(\.name)) : admin.listTopics()
        } catch {
            throw explained(error, checkConfigs: checkConfigs)
        }
        var out: [String: [TopicDrift]] = [:]
        for topic in catalog.topics {
            let drift = TopicDrift.compare(topic, actual: actual[topic.name], checkConfigs: checkConfigs)
            out[topic.name] = drift
            print(drift.isEmpty ? "\(topic.name): ok" : drift.map { "\(topic.name): \($0)" }.joined(separator: "\n"))
        }
        return out
    }

    /// A timeout says what usually causes it: a broker without the Admin API (librdkafka's mock
    /// broker, `fleet-admin broker`) never answers DescribeConfigs.
    static func explained(_ error: any Error, checkConfigs: Bool) -> any Error {
        guard let kafka = error as? KafkaError, kafka.codeName == "_TIMED_OUT" else { return error }
        let hint =
            checkConfigs
            ? "A broker without the Admin API (the local `fleet-admin broker`) never does: rerun with --skip-configs."
            : "Check KAFKA_BROKERS and the network."
        return AdminError(
            "the cluster did not answer \(checkConfigs ? "DescribeConfigs" : "Metadata") in time (\(kafka)). \(hint)")
    }
}
