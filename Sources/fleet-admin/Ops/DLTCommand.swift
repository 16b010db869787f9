import ArgumentParser
import FleetOps
import Foundation
import Kafka
import WorkerRuntime

/// `fleet-admin dlt inspect|replay`: the dead letters of a stage, and re-driving them once the
/// cause is fixed.
struct DLTCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlt",
        abstract: "Inspect and replay dead letters (account-events-dlt, health-scores-dlt, alerts-dlt).",
        subcommands: [Inspect.self, Replay.self])

    /// The filters both subcommands take.
    struct Filters: ParsableArguments {
        @Option(name: .customLong("code"), help: "Only this dlt.code (repeatable), e.g. http_410, invalid_json.")
        var codes: [String] = []
        @Option(help: "Only dead letters written since then: RFC 3339, YYYY-MM-DD, or back from now (2h, 7d).")
        var since: String?
        @Option(help: "Only records with this key (an event's account id, an alert's destination).") var key: String?
        @Option(help: "Only alerts for this destination.") var destination: String?

        func filter() throws -> DeadLetterFilter {
            DeadLetterFilter(
                codes: Set(codes), since: try SinceArgument.parse(since), key: key, destination: destination)
        }
    }

    static func read(_ topicName: String, cluster: ClusterOptions, filters: Filters) async throws -> (
        String, [DeadLetterEntry], Int
    ) {
        let settings = try cluster.settings()
        let topic = cluster.topic(topicName, settings: settings)
        let records = try await TopicReader.readAll(
            topic: topic, configuration: settings.consumerConfiguration, logger: ClusterOptions.quietLogger)
        let filter = try filters.filter()
        return (topic, records.map(DeadLetterEntry.init).filter(filter.matches), records.count)
    }

    struct Inspect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "List dead letters with reason, code, stage, source, attempt history and size (never a webhook URL).")
        @Argument(help: "The dead-letter topic, e.g. alerts-dlt (TOPIC_PREFIX is added when missing).") var topic:
            String
        @OptionGroup var cluster: ClusterOptions
        @OptionGroup var filters: Filters

        func run() async throws {
            let (topic, entries, total) = try await DLTCommand.read(topic, cluster: cluster, filters: filters)
            for entry in entries { print(entry.description) }
            var byCode: [String: Int] = [:]
            for e in entries { byCode[e.code, default: 0] += 1 }
            let codes = byCode.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map { "\($0.key) \($0.value)" }
                .joined(separator: ", ")
            let truncated = entries.filter(\.truncated).count
            print(
                "\(topic): \(entries.count) of \(total) dead letters match\(codes.isEmpty ? "" : " (\(codes))")\(truncated > 0 ? ", \(truncated) truncated (not replayable)" : "")"
            )
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-drive dead letters to their stage's input topic (or --to) once the cause is fixed.",
            discussion: """
                Each record goes to the input of the stage whose dead-letter topic holds it (alerts-dlt -> \
                alerts, account-events-dlt -> account-events, health-scores-dlt -> health-scores), never \
                where its dlt.source.topic header points: one whose source is not that input (or its \
                retry topics) is refused, and needs --to. --to never names an internal topic (a state \
                changelog, alerts-delivered, a retry or dead-letter topic, alert-feedback): refused. \
                Each record goes back with its original key, value and headers (without the dlt.* headers \
                and the retry counters fleet.retry.attempt and .due, so the retry budget starts again; \
                with its attempt history fleet.retry.history, marked "replayed from", so the delivery \
                log's retries still count the earlier attempts; with fleet.delivery.in_doubt_since, so \
                an alert that may have been posted is looked up in its Slack app channel first; with \
                fleet.replayed.from), to its source partition when it goes \
                back to its own topic; a dead letter from alerts-retry-N goes back to alerts. Safe to \
                repeat: a replayed alert keeps its alert id, so the dispatcher's delivery log skips one \
                already delivered; a replayed event keeps its event id, counted once by the scorer. \
                Truncated dead letters (dlt.truncated) are refused: only a prefix of them was kept.
                """)
        @Argument(help: "The dead-letter topic, e.g. alerts-dlt (TOPIC_PREFIX is added when missing).") var topic:
            String
        @OptionGroup var cluster: ClusterOptions
        @OptionGroup var filters: Filters
        @Option(help: "Send to this topic instead of the stage's input topic (never an internal topic).") var to:
            String?
        @Flag(help: "Show what would be sent; send nothing.") var dryRun = false

        func run() async throws {
            let (topic, entries, total) = try await DLTCommand.read(topic, cluster: cluster, filters: filters)
            let settings = try cluster.settings()
            let items = DeadLetterReplay.plan(
                entries, prefix: settings.topicPrefix, to: to.map { cluster.topic($0, settings: settings) })
            for item in items { print((dryRun ? "would send " : "") + item.description) }
            let refused = items.filter { $0.refusal != nil }.count
            let planned = items.count - refused
            if dryRun {
                print(
                    "dry run on \(topic): \(planned) of \(entries.count) matching dead letters (\(total) in the topic) would be sent, \(refused) refused; nothing sent"
                )
                return
            }
            guard planned > 0 else {
                print("\(topic): nothing to send (\(entries.count) matching, \(refused) refused)")
                if refused > 0 { throw ExitCode(1) }
                return
            }
            let producer = try KafkaProducer(
                configuration: settings.producerConfiguration, name: "dlt-replay", logger: ClusterOptions.quietLogger)
            let sent = try await DeadLetterReplay.send(items, producer: producer)
            await producer.shutdown()
            print("\(topic): sent \(sent), refused \(refused) of \(entries.count) matching dead letters")
            if refused > 0 { throw ExitCode(1) }
        }
    }
}
