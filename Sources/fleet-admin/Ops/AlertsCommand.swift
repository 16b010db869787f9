import AlertRules
import ArgumentParser
import Contracts
import FleetOps
import Foundation
import Kafka
import WorkerRuntime

/// `fleet-admin alerts`: what is open now (issue 24), from the evaluator's changelog, `alerts` and
/// the delivery log, read without a consumer group. The rows are `OpenAlerts.rows`.
struct AlertsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts",
        abstract: "Open episodes: account, rule, severity, owner, acknowledgement, SLA, the message sent.",
        discussion: """
            Read from evaluator-state (the episodes, who answered them, their SLA clocks), alerts (rule \
            names, escalations) and alerts-delivered (the latest message of each episode), without \
            joining a consumer group. Rule names come from those alerts and from the rules file \
            (--rules, else RULES_FILE) when given; an episode of a rule named by neither shows as \
            rule#<key>.
            """)

    @OptionGroup var cluster: ClusterOptions
    @Option(help: "Only this account id.") var account: String?
    @Option(help: "Only this rule (its name).") var rule: String?
    @Option(help: "Only this severity or worse: low, medium, high, critical.") var severity: String?
    @Flag(help: "Only episodes whose response SLA passed unanswered.") var breached = false
    @Flag(help: "Also episodes someone resolved whose condition still holds.") var includeResolved = false
    @Flag(help: "JSON for machines (one array of rows).") var json = false
    @Option(help: "The rules file, for rule names (default: RULES_FILE; optional).") var rules: String?

    func run() async throws {
        var severity: Severity?
        if let text = self.severity {
            guard let s = Severity(rawValue: text) else {
                throw ValidationError("--severity \(text): give low, medium, high or critical")
            }
            severity = s
        }
        let query = OpenAlertsQuery(
            account: account, rule: rule, severity: severity, breached: breached, includeResolved: includeResolved)
        let read = try await OpsTopics.read(cluster: cluster, rules: rules, scores: false)
        let rows = OpenAlerts.rows(
            states: read.states, alerts: read.alerts, deliveries: read.deliveries, rules: read.rules, query: query,
            now: Timestamp(millisecondsSinceEpoch: WallClock.system.milliseconds()))
        if json {
            print(try OpenAlertsText.json(rows), terminator: "")
        } else {
            print(OpenAlertsText.table(rows), terminator: "")
            if let note = read.note { print(note) }
        }
    }
}

/// `fleet-admin account ID`: one account's latest score, zone, signals, open episodes and recent
/// alerts (`AccountView`).
struct AccountCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "account",
        abstract: "One account: latest score, zone, signals, open episodes, recent alerts and their delivery.",
        discussion: """
            Reads health-scores (the whole topic: its retention bounds what is found), evaluator-state, \
            alerts and alerts-delivered without joining a consumer group.
            """)

    @OptionGroup var cluster: ClusterOptions
    @Argument(help: "The account id.") var id: String
    @Option(help: "How many recent alerts to show.") var recent = 10
    @Flag(help: "JSON for machines.") var json = false
    @Option(help: "The rules file, for rule names (default: RULES_FILE; optional).") var rules: String?

    func run() async throws {
        let read = try await OpsTopics.read(cluster: cluster, rules: rules, scores: true, account: id)
        let view = AccountView.make(
            account: id, scores: read.scores, state: read.states[id], alerts: read.alerts,
            deliveries: read.deliveries, rules: read.rules,
            now: Timestamp(millisecondsSinceEpoch: WallClock.system.milliseconds()), recent: recent)
        if json {
            print(try view.json(), terminator: "")
        } else {
            print(view.text, terminator: "")
            if let note = read.note { print(note) }
        }
    }
}

/// The topics `alerts` and `account` read, decoded.
enum OpsTopics {
    struct Read {
        var states: [String: AccountAlertState]
        var alerts: [AlertRecord]
        var deliveries: [DeliveryLogEntry]
        var scores: [ScoreRecord]
        var rules: [(name: String, type: AlertType)]
        /// What could not be read, for people.
        var note: String?
    }

    static func read(
        cluster: ClusterOptions, rules: String?, scores: Bool, account: String? = nil
    ) async throws -> Read {
        let settings = try cluster.settings()
        let config = settings.consumerConfiguration
        let logger = ClusterOptions.quietLogger
        var ruleNames: [(name: String, type: AlertType)] = []
        if let path = SettingSource.resolve(rules, variable: SettingSource.rulesVariable) {
            ruleNames = try RulesCommand.loadRules(path).rules.map { ($0.name, $0.type) }
        }
        func records(_ name: String, optional: Bool) async throws -> [ConsumedRecord] {
            do {
                return try await TopicReader.readAll(topic: settings.topic(name), configuration: config, logger: logger)
            } catch OpsError.noSuchTopic(_) where optional {
                return []
            }
        }
        let changelog = try await records(FleetTopics.evaluatorState, optional: false)
        let alertRecords = try await records(FleetTopics.alerts, optional: true)
        let logRecords = try await records(FleetTopics.alertsDelivered, optional: true)
        let scoreRecords = scores ? try await records(FleetTopics.healthScores, optional: true) : []

        let (states, unreadableStates) = ChangelogSnapshot.values(
            from: changelog, skipping: [AlertActionRecord.everyAccount]
        ) { try AccountAlertState(decoding: $0) }
        var unreadableAlerts = 0
        let alerts = alertRecords.compactMap { record -> AlertRecord? in
            guard let value = record.value, let alert = try? RecordCoding.decode(AlertRecord.self, from: value) else {
                unreadableAlerts += 1
                return nil
            }
            return alert
        }
        let (deliveries, unreadableLog) = DeliveryLogQuery(account: account).entries(from: logRecords)
        let mine = scoreRecords.filter { account == nil || $0.keyString == account }
        let decodedScores = mine.compactMap {
            $0.value.flatMap { try? RecordCoding.decode(ScoreRecord.self, from: $0) }
        }
        var notes: [String] = []
        if unreadableStates > 0 { notes.append("\(unreadableStates) evaluator-state values unreadable") }
        if unreadableAlerts > 0 { notes.append("\(unreadableAlerts) alerts records unreadable") }
        if unreadableLog > 0 { notes.append("\(unreadableLog) delivery-log records unreadable") }
        return Read(
            states: states, alerts: alerts, deliveries: deliveries, scores: decodedScores, rules: ruleNames,
            note: notes.isEmpty ? nil : "(" + notes.joined(separator: ", ") + ": skipped)")
    }
}
