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
        @Option(help: "Topic catalog.") var file = "topics/topics.yaml"
        @Option(help: "Prefix before every name (default: TOPIC_PREFIX).") var prefix: String?
        @Flag(help: "Skip comparing topic configs (for brokers without DescribeConfigs).") var skipConfigs = false

        /// Settings from the environment: KAFKA_BROKERS and any KAFKA_* property (TLS, SASL).
        func load() throws -> (TopicCatalog, KafkaAdmin, Bool) {
            let settings = try WorkerSettings.fromEnvironment(stage: "fleet-admin", ProcessInfo.processInfo.environment)
            let text = try String(contentsOfFile: file, encoding: .utf8)
            let catalog = try TopicCatalog.parse(text, file: file).prefixed(prefix ?? settings.topicPrefix)
            var logger = Logger(label: "fleet-admin")
            logger.logLevel = .error
            return (catalog, try KafkaAdmin(configuration: settings.producerConfiguration, logger: logger), !skipConfigs)
        }
    }

    struct Diff: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Report drift; change nothing. Exits 1 if any topic differs.")
        @OptionGroup var options: Options

        func run() async throws {
            let (catalog, admin, configs) = try options.load()
            let drift = try await TopicsCommand.report(catalog, admin: admin, checkConfigs: configs)
            if drift.values.contains(where: { !$0.isEmpty }) { throw ExitCode(1) }
        }
    }

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create missing topics and add partitions; report what it cannot fix. Idempotent.")
        @OptionGroup var options: Options

        func run() async throws {
            let (catalog, admin, configs) = try options.load()
            let drift = try await TopicsCommand.report(catalog, admin: admin, checkConfigs: configs)
            let missing = catalog.topics.filter { drift[$0.name] == [.missing] }
            if !missing.isEmpty {
                let results = try await admin.createTopics(missing.map {
                    TopicDescription(name: $0.name, partitions: $0.partitions, replicationFactor: $0.replicationFactor, configs: $0.configs)
                })
                for (name, error) in results.sorted(by: { $0.key < $1.key }) {
                    print(error.map { "\(name): create failed: \($0)" } ?? "\(name): created")
                }
            }
            for topic in catalog.topics {
                for case let .fewerPartitions(_, want) in drift[topic.name] ?? [] {
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

    static func report(_ catalog: TopicCatalog, admin: KafkaAdmin, checkConfigs: Bool) async throws -> [String: [TopicDrift]] {
        let actual = try await checkConfigs ? admin.describeTopics(catalog.topics.map(\.name)) : admin.listTopics()
        var out: [String: [TopicDrift]] = [:]
        for topic in catalog.topics {
            let drift = TopicDrift.compare(topic, actual: actual[topic.name], checkConfigs: checkConfigs)
            out[topic.name] = drift
            print(drift.isEmpty ? "\(topic.name): ok" : drift.map { "\(topic.name): \($0)" }.joined(separator: "\n"))
        }
        return out
    }
}
