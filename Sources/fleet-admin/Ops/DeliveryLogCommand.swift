import ArgumentParser
import Contracts
import FleetOps
import Foundation
import Stages
import WorkerRuntime

/// `fleet-admin delivery-log`: what the dispatcher posted, where, when, with Slack's answer, from
/// the delivery log `alerts-delivered`.
struct DeliveryLogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delivery-log",
        abstract: "What was posted, where, when, with Slack's answer (from alerts-delivered).",
        discussion:
            "The log keeps 30 days (cleanup.policy compact,delete in topics/topics.yaml): older deliveries are gone.")

    @OptionGroup var cluster: ClusterOptions
    @Option(help: "Only this account id.") var account: String?
    @Option(help: "Only this destination.") var destination: String?
    @Option(help: "Only deliveries since then: RFC 3339, YYYY-MM-DD, or back from now (2h, 7d).") var since: String?

    func run() async throws {
        let settings = try cluster.settings()
        let topic = settings.topic(FleetTopics.alertsDelivered)
        let query = DeliveryLogQuery(account: account, destination: destination, since: try SinceArgument.parse(since))
        let records = try await TopicReader.readAll(
            topic: topic, configuration: settings.consumerConfiguration, logger: ClusterOptions.quietLogger)
        let (entries, unreadable) = query.entries(from: records)
        for entry in entries { print(DeliveryLogQuery.line(entry)) }
        let messages = Set(entries.map { "\($0.destination)|\($0.messageAlertIds.joined(separator: ","))" }).count
        let doubtful = query.inDoubt(from: records)
        for intent in doubtful { print(DeliveryLogQuery.line(intent)) }
        let inDoubt = doubtful.isEmpty ? "" : ", \(doubtful.count) in doubt (a post started, no delivery logged)"
        print(
            "\(entries.count) alerts delivered in \(messages) messages\(inDoubt)\(unreadable > 0 ? ", \(unreadable) unreadable log records skipped" : "") (\(topic), \(records.count) records)"
        )
    }
}
