import ArgumentParser
import Backtest
import Contracts
import Foundation
import HealthModel

/// `fleet-admin report ...`: reports over the fleet's records.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Reports over the fleet's records.",
        subcommands: [Precision.self]
    )

    /// `fleet-admin report precision`: per rule, alerts, feedback, precision and what became of the accounts.
    struct Precision: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Per rule: alerts sent, useful / not useful, precision, churned after the alert, the three categories, suggestions.",
            discussion: """
            Reads JSON-lines files: alert records (the alerts topic, or fleet-admin backtest -o), feedback \
            records (alert-feedback) and account-events (only account_churned and account_renewed are read). \
            An alert's verdict is the latest feedback on it; it is escalated to churn if its account churned \
            after it (within --churn-window), a true positive resolved if marked useful, a false positive if \
            marked not useful. Lines that are not records are counted and skipped.
            """
        )

        @Option(help: "Alerts raised this long before --now are counted (e.g. 30d, 2w).") var since: String = "30d"
        @Option(help: "Alert records, JSON lines.") var alerts: String
        @Option(help: "Feedback records, JSON lines.") var feedback: String
        @Option(help: "account-events, JSON lines (outcome events are read).") var events: String
        @Option(help: "The end of the period (RFC 3339 or YYYY-MM-DD); default: the latest time in the files.") var now: String?
        @Option(help: "A churn this long after an alert counts for it.") var churnWindow: String = "90d"
        @Option(help: "Verdicts a rule needs before a suggestion is made.") var minRated: Int = 5

        func run() throws {
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
            let alertRecords = try records(AlertRecord.self, in: alerts)
            let feedbackRecords = try records(FeedbackRecord.self, in: feedback)
            var outcomes: [AccountOutcome] = []
            let parser = EventParser()
            var latestEvent: Timestamp?
            try JSONLines.forEachLine(in: events) { line in
                guard let event = try? parser.parse(line) else { return }
                latestEvent = max(latestEvent ?? event.occurredAt, event.occurredAt)
                if let o = AccountOutcome(event: event) { outcomes.append(o) }
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
            lines.insert("read \(alertRecords.count) alert records, \(feedbackRecords.count) feedback records, \(outcomes.count) outcome events", at: 1)
            for (path, n) in skipped.sorted(by: { $0.key < $1.key }) { lines.insert("  skipped \(n) lines of \(path) that are not records", at: 2) }
            print(lines.joined(separator: "\n"))
        }
    }
}
