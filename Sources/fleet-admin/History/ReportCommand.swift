import ArgumentParser
import Backtest
import Contracts
import Foundation
import HealthModel
import Stages

/// `fleet-admin report ...`: reports over the fleet's records.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Reports over the fleet's records.",
        subcommands: [Precision.self]
    )

    /// `fleet-admin report precision`: per rule, alerts, feedback, precision and what became of the accounts.
    struct Precision: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Per rule: alerts sent, useful / not useful, precision, churned after the alert, the three categories, suggestions.",
            discussion: """
            Reads JSON-lines files: alert records (the alerts topic, or fleet-admin backtest -o), feedback \
            records (alert-feedback) and account-events (only account_churned and account_renewed are read). \
            With --from-kafka, what no file is given for is read from the cluster (KAFKA_BROKERS or --brokers, \
            any KAFKA_* property, TOPIC_PREFIX or --topic-prefix): the alerts delivered (alerts-delivered, with \
            the rule and raise time from alerts while it still holds them; alerts itself when the delivery log \
            is empty), alert-feedback and account-events, each whole, as far as it was written when reading began. \
            An alert's verdict is the latest feedback on it; it is escalated to churn if its account churned \
            after it (within --churn-window), a true positive resolved if marked useful, a false positive if \
            marked not useful. Lines that are not records are counted and skipped.
            """
        )

        @Option(help: "Alerts raised this long before --now are counted (e.g. 30d, 2w).") var since: String = "30d"
        @Option(help: "Alert records, JSON lines.") var alerts: String?
        @Option(help: "Feedback records, JSON lines.") var feedback: String?
        @Option(help: "account-events, JSON lines (outcome events are read).") var events: String?
        @Flag(help: "Read from the cluster what no file is given for.") var fromKafka = false
        @Option(help: "Bootstrap servers (default: KAFKA_BROKERS).") var brokers: String?
        @Option(help: "Prefix before every topic name (default: TOPIC_PREFIX).") var topicPrefix: String?
        @Option(help: "The end of the period (RFC 3339 or YYYY-MM-DD); default: the latest time in the files.") var now: String?
        @Option(help: "A churn this long after an alert counts for it.") var churnWindow: String = "90d"
        @Option(help: "Verdicts a rule needs before a suggestion is made.") var minRated: Int = 5

        func validate() throws {
            guard fromKafka || (alerts != nil && feedback != nil && events != nil) else {
                throw ValidationError("give --alerts, --feedback and --events files, or --from-kafka to read the rest from the cluster")
            }
        }

        func run() async throws {
            guard let sinceMs = TimeArgument.duration(since) else { throw ValidationError("--since: not a duration like 30d: \(since)") }
            guard let windowMs = TimeArgument.duration(churnWindow) else { throw ValidationError("--churn-window: not a duration like 90d: \(churnWindow)") }
            var skipped: [String: Int] = [:]
            let decoder = RecordCoding.makeDecoder()
            func records<T: Decodable>(_ type: T.Type, in path: String) throws -> [T] {
                var out: [T] = []
                try JSONLines.forEachLine(in: path) { line in
                    guard line.contains(where: { $0 != 0x20 && $0 != 0x0D && $0 != 0x09 }) else { return }
                    if let r = try? decoder.decode(T.self, from: Data(line)) { out.append(r) } else { skipped[path, default: 0] += 1 }
                }
                return out
            }
            let cluster = fromKafka ? try TopicHistoryReader(brokers: brokers, prefix: topicPrefix) : nil
            var sources: [String] = []
            func topicRecords<T: Decodable>(_ type: T.Type, _ topic: String) async throws -> [T] {
                var out: [T] = []
                let n = try await cluster!.read(topic) { r in
                    if let v = r.value, let t = try? decoder.decode(T.self, from: Data(v)) {
                        out.append(t)
                    } else if let v = r.value, case .posting = DeliveryLogValue.decode(v) {
                        // An intent to post, written before each post: not a delivery, not an error.
                    } else {
                        skipped[topic, default: 0] += 1
                    }
                }
                sources.append("\(topic) (\(n) records)")
                return out
            }
            let feedbackRecords: [FeedbackRecord]
            if let feedback {
                feedbackRecords = try records(FeedbackRecord.self, in: feedback)
            } else {
                feedbackRecords = try await topicRecords(FeedbackRecord.self, FleetTopics.alertFeedback)
            }
            let alertRecords: [AlertRecord]
            if let alerts {
                alertRecords = try records(AlertRecord.self, in: alerts)
            } else {
                let raised = try await topicRecords(AlertRecord.self, FleetTopics.alerts)
                let deliveries = try await topicRecords(DeliveryLogEntry.self, FleetTopics.alertsDelivered).map {
                    DeliveredAlert(alertId: $0.alertId, destination: $0.destination, accountId: $0.accountId, type: $0.type, deliveredAt: $0.deliveredAt)
                }
                alertRecords = SentAlerts.merge(alerts: raised, deliveries: deliveries, feedback: feedbackRecords)
            }
            var outcomes: [AccountOutcome] = []
            let parser = EventParser()
            var latestEvent: Timestamp?
            func event(_ line: UnsafeBufferPointer<UInt8>) {
                guard let event = try? parser.parse(line) else { return }
                latestEvent = max(latestEvent ?? event.occurredAt, event.occurredAt)
                if let o = AccountOutcome(event: event) { outcomes.append(o) }
            }
            if let events {
                try JSONLines.forEachLine(in: events) { event($0) }
            } else {
                let n = try await cluster!.read(FleetTopics.accountEvents) { r in
                    if let v = r.value { v.withUnsafeBufferPointer { event($0) } }
                }
                sources.append("\(FleetTopics.accountEvents) (\(n) records)")
            }
            let until: Timestamp
            if let now {
                guard let t = TimeArgument.parse(now, endOfDay: true) else { throw ValidationError("--now: not a time: \(now)") }
                until = t
            } else {
                let times = alertRecords.map(\.raisedAt) + feedbackRecords.map(\.recordedAt) + [latestEvent].compactMap { $0 }
                guard let latest = times.max() else { throw HistoryCommandError(message: "no records in the files") }
                until = latest
            }
            let report = PrecisionReport(alerts: alertRecords, feedback: feedbackRecords, outcomes: outcomes,
                                         since: until.adding(milliseconds: -sinceMs), until: until, churnWindowMs: windowMs, minRated: minRated)
            var lines = report.lines
            lines.insert("read \(alertRecords.count) alert records, \(feedbackRecords.count) feedback records, \(outcomes.count) outcome events"
                         + (sources.isEmpty ? "" : "; from the cluster: " + sources.joined(separator: ", ")), at: 1)
            for (path, n) in skipped.sorted(by: { $0.key < $1.key }) { lines.insert("  skipped \(n) lines of \(path) that are not records", at: 2) }
            print(lines.joined(separator: "\n"))
        }
    }
}
