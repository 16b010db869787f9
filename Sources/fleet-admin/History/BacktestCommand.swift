import AlertRules
import ArgumentParser
import Backtest
import Contracts
import Foundation
import HealthModel

/// `fleet-admin backtest`: history -> scores -> alerts in event time, with the stages' domain code.
struct BacktestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backtest",
        abstract:
            "Run account-events history through the health model and a rules file, in event time; report the alerts.",
        discussion: """
            Events are applied in file order, scored as the ingest-scorer does (idle accounts re-scored at \
            each UTC midnight the watermark passes), evaluated as the evaluator does, then held or gathered \
            into digests as the dispatcher does (quiet hours and digests per destination, released when event \
            time reaches them). The destinations' policies come from the rules file's destinations section, \
            overridden field by field by --destinations (the dispatcher's destinations file). -o writes the alert records exactly as the \
            alerts topic carries them, one JSON per line. The report (stdout) gives alerts per destination, \
            type, priority and ISO week, the noisiest accounts and rules, and every alert with its signals. \
            Bad lines are counted and listed with their numbers. --compare runs a second rules file over the \
            same scores and lists the alerts only in A, only in B, and those with another priority, channels \
            or time. --html writes a self-contained page (no network) with the figures and every account's \
            score over time, alerts marked. An event dated more than --max-clock-skew after --now (default: the \
            wall clock at run time) is a bad line, as the ingest-scorer dead-letters it (future_event_time): it \
            moves no time, and the rest of the history gives the alerts it gives without that line.
            """
    )

    @Argument(help: "account-events as JSON lines ('-' for standard input).") var events: String
    @Option(help: "Rules file (YAML).") var rules: String
    @Option(
        help: "Destinations file (YAML): its quiet_hours and digest per destination, as the dispatcher applies them.")
    var destinations: String?
    @Option(help: "Scoring file (YAML); default: the built-in defaults.") var scoring: String?
    @Option(help: "Report alerts from this time (RFC 3339 or YYYY-MM-DD); earlier events still build baselines.")
    var from: String?
    @Option(help: "Ignore events after this time (RFC 3339, or YYYY-MM-DD: to the end of that day).") var to: String?
    @Option(name: .shortAndLong, help: "Write the alert records (the alerts topic's values) as JSON lines here.")
    var output: String?
    @Option(help: "A second rules file: compare its alerts with those of --rules over the same history.") var compare:
        String?
    @Option(help: "Write a self-contained HTML report here.") var html: String?
    @Option(help: "Compare: alerts of the same account and type this close in time are the same alert (e.g. 3d, 12h).")
    var matchWindow: String = "3d"
    @Option(help: "Length of the noisiest lists.") var top: Int = 10
    @Option(help: "Allowed lateness of the scorer's watermark, in seconds.") var lateness: Int64 = 3600
    @Option(help: "Reference time of the future-time bound (RFC 3339 or YYYY-MM-DD); default: the wall clock.")
    var now: String?
    @Option(help: "How far ahead of --now an event may be dated, in seconds (MAX_CLOCK_SKEW_MS).")
    var maxClockSkew: Int64 = 600

    func run() throws {
        var scoringConfig = ScoringConfig()
        if let scoring {
            let text = try String(contentsOfFile: scoring, encoding: .utf8)
            do { scoringConfig = try ScoringConfig(yaml: text, file: scoring) } catch {
                throw HistoryCommandError(message: error.description)
            }
        }
        var engines = [RulesEngine(config: try RulesCommand.loadRules(rules))]
        if let compare { engines.append(RulesEngine(config: try RulesCommand.loadRules(compare))) }
        let latenessMs = try TimeArgument.milliseconds(seconds: lateness, option: "--lateness")
        let skewMs = try TimeArgument.milliseconds(seconds: maxClockSkew, option: "--max-clock-skew")
        var options = Backtest.Options(
            allowedLatenessMs: latenessMs, now: try TimeArgument.reference(now),
            futureTimeBound: FutureTimeBound(maxClockSkewMilliseconds: skewMs))
        if let from {
            guard let t = TimeArgument.parse(from) else {
                throw ValidationError("--from: not a time (RFC 3339 or YYYY-MM-DD): \(from)")
            }
            options.from = t
        }
        if let to {
            guard let t = TimeArgument.parse(to, endOfDay: true) else {
                throw ValidationError("--to: not a time (RFC 3339 or YYYY-MM-DD): \(to)")
            }
            options.to = t
        }
        guard let window = TimeArgument.duration(matchWindow) else {
            throw ValidationError("--match-window: not a duration like 3d or 12h: \(matchWindow)")
        }

        var policies: [String: DestinationPolicy] = [:]
        if let destinations {
            let text = try String(contentsOfFile: destinations, encoding: .utf8)
            do { policies = try DestinationPolicy.parseAll(destinationsYAML: text, file: destinations) } catch {
                throw HistoryCommandError(message: "\(error)")
            }
        }
        var backtest = Backtest(
            scorer: HealthScorer(config: scoringConfig), engines: engines, destinationsFile: policies, options: options)
        try JSONLines.forEachLine(in: events) { backtest.process(line: $0) }
        let result = backtest.finish()

        if let output {
            var bytes: [UInt8] = []
            for alert in result.primary.alerts {
                bytes += try RecordCoding.encode(alert)
                bytes.append(0x0A)
            }
            guard FileManager.default.createFile(atPath: output, contents: Data(bytes)) else {
                throw HistoryCommandError(message: "cannot write \(output)")
            }
        }
        let figures = BacktestFigures(
            run: result.primary, from: result.from ?? result.firstEventAt, to: result.to ?? result.lastEventAt)
        var lines = BacktestReport.lines(result, figures: figures, top: top)
        var comparison: (RuleSetComparison, nameA: String, nameB: String)?
        if let compare, result.runs.count > 1 {
            let c = RuleSetComparison(
                a: figures.alerts, b: BacktestAlert.group(result.runs[1].raised), windowMs: window)
            comparison = (c, rules, compare)
            lines.append("")
            lines += c.lines(nameA: rules, nameB: compare)
        }
        if let output {
            lines.append("")
            lines.append("wrote \(result.primary.alerts.count) alert records to \(output)")
        }
        if let html {
            let page = BacktestHTML.page(
                result, figures: figures, comparison: comparison, title: "Backtest of \(rules) over \(events)",
                healthyAt: scoringConfig.healthyAtLeast, atRiskAt: scoringConfig.atRiskAtLeast)
            guard FileManager.default.createFile(atPath: html, contents: Data(page.utf8)) else {
                throw HistoryCommandError(message: "cannot write \(html)")
            }
            lines.append("wrote the HTML report to \(html)")
        }
        print(lines.joined(separator: "\n"))
    }
}
