import ArgumentParser
import Contracts
import FleetOps
import Foundation
import Kafka
import WorkerRuntime

/// `fleet-admin silence add|list|expire`: silences written as records on `alert-actions`, honoured
/// by the evaluator (docs/actions.md).
struct SilenceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "silence",
        abstract: "Silence alerts for a while (records on alert-actions, honoured by the evaluator).",
        subcommands: [SilenceAddCommand.self, SilenceListCommand.self, SilenceExpireCommand.self])

    static var now: Timestamp { WallClock.system.now() }

    /// Writes `action` (fanned out to every partition for every account) and waits for the acks.
    static func write(_ action: AlertActionRecord, cluster: ClusterOptions) async throws -> Int {
        if let problem = action.problem { throw ValidationError(problem) }
        let settings = try cluster.settings()
        let topic = settings.topic(FleetTopics.alertActions)
        var adminConfig = settings.kafka
        adminConfig["group.id"] = nil
        let admin = try KafkaAdmin(configuration: adminConfig, logger: ClusterOptions.quietLogger)
        guard let description = try await admin.listTopics()[topic] else { throw OpsError.noSuchTopic(topic) }
        let records = try SilenceLedger.records(for: action, topic: topic, partitions: description.partitions)
        let producer = try KafkaProducer(
            configuration: settings.producerConfiguration, name: "fleet-admin-silence",
            logger: ClusterOptions.quietLogger)
        do {
            for record in records { _ = try await producer.send(record) }
            try await producer.flush(timeout: .seconds(10))
        } catch {
            await producer.shutdown(timeout: .seconds(5))
            throw error
        }
        await producer.shutdown(timeout: .seconds(5))
        return records.count
    }
}

struct SilenceAddCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Silence the alerts the matchers select until --ends or for --duration.",
        discussion: "At least one matcher. Without --account the silence applies to every account.")

    @OptionGroup var cluster: ClusterOptions
    @Option(help: "Only this account id.") var account: String?
    @Option(help: "Only this rule.") var rule: String?
    @Option(help: "Only this alert type (customer_at_risk, health_score_drop, ...).") var type: String?
    @Option(help: "Only this tier (enterprise, mid_market, smb).") var tier: String?
    @Option(help: "Only this destination.") var destination: String?
    @Option(help: "When it ends: RFC 3339 or YYYY-MM-DD.") var ends: String?
    @Option(help: "How long it lasts: 45m, 12h, 7d, 2w.") var duration: String?
    @Option(help: "Why (shown by silence list).") var reason: String?
    @Option(help: "Who (default: $USER).") var by: String?

    func run() async throws {
        let now = SilenceCommand.now
        let until: Timestamp
        switch (ends, duration) {
        case (let e?, nil):
            guard let t = TimeArgument.parse(e) else {
                throw ValidationError("--ends \(e): give RFC 3339 or YYYY-MM-DD")
            }
            until = t
        case (nil, let d?):
            guard let ms = TimeArgument.duration(d), ms > 0 else {
                throw ValidationError("--duration \(d): give a duration such as 45m, 12h, 7d or 2w")
            }
            until = now.adding(milliseconds: ms)
        default:
            throw ValidationError("give exactly one of --ends and --duration")
        }
        var alertType: AlertType?
        if let type {
            guard let t = AlertType(rawValue: type) else { throw ValidationError("--type \(type): not an alert type") }
            alertType = t
        }
        var accountTier: Tier?
        if let tier {
            guard let t = Tier(rawValue: tier) else {
                throw ValidationError("--tier \(tier): enterprise, mid_market or smb")
            }
            accountTier = t
        }
        let matchers = SilenceMatchers(
            account: account, rule: rule, type: alertType, tier: accountTier, destination: destination)
        guard !matchers.isEmpty else { throw ValidationError("give at least one matcher (--account, --rule, ...)") }
        let id = "s-" + UUID().uuidString.lowercased().prefix(8)
        let who = by ?? ProcessInfo.processInfo.environment["USER"] ?? "fleet-admin"
        let action = AlertActionRecord(
            actionId: "silence-\(id)", kind: .silence, accountId: account ?? AlertActionRecord.everyAccount, by: who,
            at: now, until: until, silenceId: id, matchers: matchers, reason: reason, source: .fleetAdmin)
        let written = try await SilenceCommand.write(action, cluster: cluster)
        print("silence \(id) until \(until.rfc3339) (\(written) record\(written == 1 ? "" : "s") on alert-actions)")
    }
}

struct SilenceListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "The silences on alert-actions (active ones; --all for ended ones too).")

    @OptionGroup var cluster: ClusterOptions
    @Flag(help: "Also the silences that ended or were expired.") var all = false

    func run() async throws {
        let settings = try cluster.settings()
        let topic = settings.topic(FleetTopics.alertActions)
        let records = try await TopicReader.readAll(
            topic: topic, configuration: settings.consumerConfiguration, logger: ClusterOptions.quietLogger)
        let (entries, unreadable) = SilenceLedger.entries(from: records)
        let now = SilenceCommand.now
        let shown = entries.filter { all || $0.end > now }
        for entry in shown { print(SilenceLedger.line(entry, now: now)) }
        print(
            "\(shown.count) silence\(shown.count == 1 ? "" : "s")\(all ? "" : " active")\(unreadable > 0 ? ", \(unreadable) unreadable records skipped" : "") (\(topic))"
        )
    }
}

struct SilenceExpireCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "expire", abstract: "End a silence now.")

    @OptionGroup var cluster: ClusterOptions
    @Argument(help: "The silence's id (silence list shows it).") var id: String
    @Option(help: "Who (default: $USER).") var by: String?

    func run() async throws {
        let settings = try cluster.settings()
        let topic = settings.topic(FleetTopics.alertActions)
        let records = try await TopicReader.readAll(
            topic: topic, configuration: settings.consumerConfiguration, logger: ClusterOptions.quietLogger)
        guard let entry = SilenceLedger.entries(from: records).entries.first(where: { $0.record.silenceId == id })
        else {
            throw AdminError("no silence \(id) on \(topic)")
        }
        let who = by ?? ProcessInfo.processInfo.environment["USER"] ?? "fleet-admin"
        let action = AlertActionRecord(
            actionId: "expire-\(id)", kind: .expireSilence, accountId: entry.record.accountId, by: who,
            at: SilenceCommand.now, silenceId: id, source: .fleetAdmin)
        _ = try await SilenceCommand.write(action, cluster: cluster)
        print("silence \(id) expired")
    }
}
