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
            abstract:
                "Per rule: alerts sent, useful / not useful, precision, churned after the alert, the three categories, suggestions.",
            discussion: """
                Reads JSON-lines files: alert records (the alerts topic, or fleet-admin backtest -o), feedback \
                records (alert-feedback) and account-events (only account_churned and account_renewed are read). \
                With --from-kafka, what no file is given for is read from the cluster (KAFKA_BROKERS or --brokers, \
                any KAFKA_* property, TOPIC_PREFIX or --topic-prefix): the alerts delivered (alerts-delivered, with \
                the rule and raise time from alerts while it still holds them; alerts itself when the delivery log \
                is empty), alert-feedback and account-events, each whole, as far as it was written when reading began. \
                An alert's verdict is the latest feedback on it; it is escalated to churn if its account churned \
                after it (within --churn-window); else, when someone resolved it (Resolve buttons, alert-actions: \
                --actions, or the topic with --from-kafka), the outcome they chose; else a true positive resolved \
                if marked useful, a false positive if marked not useful. Lines that are not records are counted and skipped. A record dated more than \
                --max-clock-skew after the wall clock (or after --now, when later) is refused as the workers refuse \
                it (future_event_time), with its line number: it moves no period.
                """
        )

        @Option(help: "Alerts raised this long before --now are counted (e.g. 30d, 2w).") var since: String = "30d"
        @Option(help: "Alert records, JSON lines.") var alerts: String?
        @Option(help: "Feedback records, JSON lines.") var feedback: String?
        @Option(help: "account-events, JSON lines (outcome events are read).") var events: String?
        @Option(
            help:
                "alert-actions records, JSON lines: resolutions with an outcome classify their alerts (default with --from-kafka: the topic; else none)."
        ) var actions: String?
        @Flag(help: "Read from the cluster what no file is given for.") var fromKafka = false
        @Option(help: "Bootstrap servers (default: KAFKA_BROKERS).") var brokers: String?
        @Option(help: "Prefix before every topic name (default: TOPIC_PREFIX).") var topicPrefix: String?
        @Option(help: "The end of the period (RFC 3339 or YYYY-MM-DD); default: the latest time in the files.") var now:
            String?
        @Option(help: "A churn this long after an alert counts for it.") var churnWindow: String = "90d"
        @Option(help: "Verdicts a rule needs before a suggestion is made.") var minRated: Int = 5
        @Option(help: "How far ahead of the wall clock (or a later --now) a record may be dated, in seconds.")
        var maxClockSkew: Int64 = 600

        func validate() throws {
            guard fromKafka || (alerts != nil && feedback != nil && events != nil) else {
                throw ValidationError(
                    "give --alerts, --feedback and --events files, or --from-kafka to read the rest from the cluster")
            }
        }

        func run() async throws {
            guard let sinceMs = TimeArgument.duration(since) else {
                throw ValidationError("--since: not a duration like 30d: \(since)")
            }
            guard let windowMs = TimeArgument.duration(churnWindow) else {
                throw ValidationError("--churn-window: not a duration like 90d: \(churnWindow)")
            }
            var skipped: [String: Int] = [:]
            var periodEnd: Timestamp?
            if let now {
                guard let t = TimeArgument.parse(now, endOfDay: true) else {
                    throw ValidationError("--now: not a time: \(now)")
                }
                periodEnd = t
            }
            // The future-time bound's reference: this machine's clock, or --now for records from its future.
            let reference = max(TimeArgument.wallClock(), periodEnd ?? TimeArgument.wallClock())
            let skewMs = try TimeArgument.milliseconds(seconds: maxClockSkew, option: "--max-clock-skew")
            let bound = FutureTimeBound(maxClockSkewMilliseconds: skewMs)
            var refused: [String] = []
            func admitted(_ time: Timestamp, _ place: @autoclosure () -> String) -> Bool {
                let ms = time.millisecondsSinceEpoch
                guard let reason = bound.violation(ms, now: reference.millisecondsSinceEpoch) else { return true }
                if refused.count < 20 { refused.append("  refused \(place()): \(FutureTimeBound.code): \(reason)") }
                skipped["\(FutureTimeBound.code) (dated in the future)", default: 0] += 1
                return false
            }
            let decoder = RecordCoding.makeDecoder()
            func records<T: Decodable>(_ type: T.Type, in path: String, time: (T) -> Timestamp) throws -> [T] {
                var out: [T] = []
                var number = 0
                try JSONLines.forEachLine(in: path) { line in
                    number += 1
                    guard line.contains(where: { $0 != 0x20 && $0 != 0x0D && $0 != 0x09 }) else { return }
                    if let r = try? decoder.decode(T.self, from: Data(line)) {
                        if admitted(time(r), "line \(number) of \(path)") { out.append(r) }
                    } else {
                        skipped[path, default: 0] += 1
                    }
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
                feedbackRecords = try records(FeedbackRecord.self, in: feedback, time: \.recordedAt)
            } else {
                feedbackRecords = try await topicRecords(FeedbackRecord.self, FleetTopics.alertFeedback)
                    .filter { admitted($0.recordedAt, "feedback on \($0.alertId) from \(FleetTopics.alertFeedback)") }
            }
            let alertRecords: [AlertRecord]
            if let alerts {
                alertRecords = try records(AlertRecord.self, in: alerts, time: \.raisedAt)
            } else {
                let raised = try await topicRecords(AlertRecord.self, FleetTopics.alerts)
                // Held back by people's actions (snoozed, resolved, silenced): recorded, not sent.
                let deliveries = try await topicRecords(DeliveryLogEntry.self, FleetTopics.alertsDelivered)
                    .filter { $0.suppressed == nil }.map {
                        DeliveredAlert(
                            alertId: $0.alertId, destination: $0.destination, accountId: $0.accountId, type: $0.type,
                            deliveredAt: $0.deliveredAt)
                    }
                alertRecords = SentAlerts.merge(alerts: raised, deliveries: deliveries, feedback: feedbackRecords)
                    .filter { admitted($0.raisedAt, "alert \($0.alertId) from the cluster") }
            }
            var outcomes: [AccountOutcome] = []
            let parser = EventParser()
            var latestEvent: Timestamp?
            func event(_ line: UnsafeBufferPointer<UInt8>, _ place: @autoclosure () -> String) {
                guard let event = try? parser.parse(line), admitted(event.occurredAt, place()) else { return }
                latestEvent = max(latestEvent ?? event.occurredAt, event.occurredAt)
                if let o = AccountOutcome(event: event) { outcomes.append(o) }
            }
            if let events {
                var number = 0
                try JSONLines.forEachLine(in: events) {
                    number += 1
                    event($0, "line \(number) of \(events)")
                }
            } else {
                let n = try await cluster!.read(FleetTopics.accountEvents) { r in
                    let place = "\(r.topic)/\(r.partition)@\(r.offset)"
                    if let v = r.value { v.withUnsafeBufferPointer { event($0, place) } }
                }
                sources.append("\(FleetTopics.accountEvents) (\(n) records)")
            }
            var resolutions: [AlertActionRecord] = []
            if let actions {
                resolutions = try records(AlertActionRecord.self, in: actions, time: \.at)
            } else if cluster != nil {
                do {
                    resolutions = try await topicRecords(AlertActionRecord.self, FleetTopics.alertActions)
                        .filter { admitted($0.at, "action \($0.actionId) from \(FleetTopics.alertActions)") }
                } catch is HistoryCommandError {
                    sources.append("\(FleetTopics.alertActions) (not on the cluster: no resolutions)")
                }
            }
            resolutions.removeAll { $0.kind != .resolve }
            let until: Timestamp
            if let periodEnd {
                until = periodEnd
            } else {
                let times =
                    alertRecords.map(\.raisedAt) + feedbackRecords.map(\.recordedAt) + [latestEvent].compactMap { $0 }
                guard let latest = times.max() else { throw HistoryCommandError(message: "no records in the files") }
                until = latest
            }
            let report = PrecisionReport(
                alerts: alertRecords, feedback: feedbackRecords, outcomes: outcomes, resolutions: resolutions,
                since: until.adding(milliseconds: -sinceMs), until: until, churnWindowMs: windowMs, minRated: minRated)
            var lines = report.lines
            lines.insert(
                "read \(alertRecords.count) alert records, \(feedbackRecords.count) feedback records, \(outcomes.count) outcome events"
                    + (sources.isEmpty ? "" : "; from the cluster: " + sources.joined(separator: ", ")), at: 1)
            let futureKey = "\(FutureTimeBound.code) (dated in the future)"
            for (path, n) in skipped.sorted(by: { $0.key < $1.key }) where path != futureKey {
                lines.insert("  skipped \(n) lines of \(path) that are not records", at: 2)
            }
            if let n = skipped[futureKey] {
                let head = "  refused \(n) records dated more than \(maxClockSkew) s after \(reference)"
                lines.insert(contentsOf: [head] + refused, at: 2)
            }
            print(lines.joined(separator: "\n"))
        }
    }
}
