import AlertRules
import ArgumentParser
import Backtest
import Contracts
import Foundation
import HealthModel

/// `fleet-admin bench detection`: the health model judged on time to detect, with `backtest`.
struct DetectionBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detection",
        abstract: "Time to detect and false alerts, measured with backtests of generated, labelled histories.",
        discussion: """
            By default (--history labelled): for each seed a labelled history (nine story types with random \
            onsets, seven kinds of noise on ordinary accounts, a holiday every account shares) is backtested \
            with the rules file, and it prints per story type the hours from onset to the first expected alert \
            (p50, p90, max, missed) and per kind of noise the risk alerts on ordinary accounts per 1,000 \
            accounts per month. With --history sample: the seeded demo sample's collapsing and silent accounts, \
            how long after going dark the score left healthy, went critical and alerted, and the ordinary \
            accounts that left healthy or alerted.
            """
    )

    @Option(help: "labelled (story types and noise, the benchmark) or sample (the demo's seeded sample).")
    var history: String = "labelled"
    @Option(
        name: [.customLong("seeds"), .customLong("seed")],
        help: "Seeds, comma-separated (each a sample).")
    var seeds: String = "42"
    @Option(help: "Accounts per sample (default: 300 labelled, 100 sample).") var accounts: Int?
    @Option(help: "Days per sample (default: 75 labelled, 60 sample).") var days: Int?
    @Option(help: "Rules file.") var rules: String = "config/rules.yaml"
    @Option(help: "Scoring file; default: the built-in defaults.") var scoring: String?
    @Option(help: "Tier of the silent account (enterprise, mid_market, smb); default: drawn.") var silentTier: String?
    @Option(help: "With --history labelled: also list this story's accounts (onset, tier, hours to detect, rule).")
    var story: String?
    @Option(
        help: ArgumentHelp(
            "With --history labelled: also list the false alerts on ordinary accounts with this kind of noise (or all).",
            valueName: "noise"))
    var falseAlerts: String?
    @Flag(help: "With --history labelled: histories without the holiday every account shares.")
    var withoutSharedHoliday = false
    @Flag(
        help:
            "With --history labelled: the two days every account shares are an outage of the customer's own event pipeline (no events from any account), not a holiday."
    )
    var sharedOutage = false

    func run() throws {
        var config = ScoringConfig()
        if let scoring {
            let text = try String(contentsOfFile: scoring, encoding: .utf8)
            do { config = try ScoringConfig(yaml: text, file: scoring) } catch {
                throw HistoryCommandError(message: error.description)
            }
        }
        let engine = RulesEngine(config: try RulesCommand.loadRules(rules))
        if history == "labelled" {
            try runLabelled(config: config, engine: engine)
            return
        }
        guard history == "sample" else { throw ValidationError("--history: labelled or sample") }
        let accounts = self.accounts ?? 100
        let days = self.days ?? 60
        var tier: Tier?
        if let silentTier {
            guard let t = Tier(rawValue: silentTier) else {
                throw ValidationError("--silent-tier: enterprise, mid_market or smb")
            }
            tier = t
        }
        let seedList = seeds.split(separator: ",").compactMap { UInt64($0.trimmingCharacters(in: .whitespaces)) }
        guard !seedList.isEmpty else { throw ValidationError("--seeds: numbers, comma-separated") }
        var perStory: [String: [Double]] = [:]
        var falsePositives = 0
        var ordinary = 0
        var ordinaryAlerts = 0
        for seed in seedList {
            let generator = SampleGenerator(
                options: .init(seed: seed, accounts: accounts, days: days, silentTier: tier))
            var backtest = Backtest(
                scorer: HealthScorer(config: config), engines: [engine],
                options: .init(to: generator.options.start.adding(days: Int64(days))))
            for day in 0..<days {
                for line in generator.lines(forDay: day) { line.withUnsafeBufferPointer { backtest.process(line: $0) } }
            }
            let detection = StoryDetection(generator: generator, result: backtest.finish())
            print("seed \(seed):")
            for line in detection.lines { print("  " + line) }
            for s in detection.stories {
                perStory["\(s.story) (\(s.tier?.rawValue ?? "?"))", default: []].append(s.hoursToAtRisk ?? .infinity)
            }
            falsePositives += detection.ordinaryNotHealthy.count
            ordinaryAlerts += detection.ordinaryAlerts.count
            ordinary += detection.ordinaryAccounts
        }
        if seedList.count > 1 {
            print("over \(seedList.count) samples:")
            for (story, hours) in perStory.sorted(by: { $0.key < $1.key }) {
                let sorted = hours.sorted()
                let days = sorted.map { $0.isFinite ? "\(($0 / 24 * 10).rounded() / 10)" : "never" }
                print("  \(story): days from dark to not healthy, sorted: \(days.joined(separator: " "))")
            }
            print(
                "  false positives: \(falsePositives) of \(ordinary) ordinary accounts left healthy; \(ordinaryAlerts) alerts on ordinary accounts"
            )
        }
    }

    /// The UTC weekday of `t`, as three letters.
    static func weekday(_ t: Timestamp) -> String {
        ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][Int((t.epochDay + 3) % 7 + 7) % 7]
    }

    /// The labelled benchmark: per seed and over all seeds, time to detect per story type and false
    /// alerts per kind of noise.
    func runLabelled(config: ScoringConfig, engine: RulesEngine) throws {
        let seedList = seeds.split(separator: ",").compactMap { UInt64($0.trimmingCharacters(in: .whitespaces)) }
        guard !seedList.isEmpty else { throw ValidationError("--seeds: numbers, comma-separated") }
        let options = LabelledHistory.Options(
            accounts: accounts ?? 300, days: days ?? 75, sharedHoliday: !withoutSharedHoliday,
            sharedOutage: sharedOutage)
        var all: [DetectionFigures] = []
        for seed in seedList {
            var o = options
            o.seed = seed
            let history = LabelledHistory(options: o)
            let figures = DetectionFigures.measure(history, scorer: HealthScorer(config: config), engine: engine)
            print(
                "seed \(seed): \(o.accounts) accounts, \(o.days) days from "
                    + "\(Timestamp(millisecondsSinceEpoch: history.startMs).rfc3339)")
            for line in figures.lines { print("  " + line) }
            if let story {
                guard let kind = LabelledHistory.Story(rawValue: story) else {
                    throw ValidationError(
                        "--story: one of \(LabelledHistory.Story.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                for a in figures.storyAccounts where a.story == kind {
                    let hours =
                        a.hours.map {
                            String(format: "%6.1f h (%4.1f working h)", $0, a.businessHours ?? 0)
                        } ?? "missed"
                    print(
                        "    \(a.accountId) \(a.tier.rawValue) onset \(a.onset.rfc3339) "
                            + "(\(Self.weekday(a.onset))): \(hours) \(a.rule ?? "")")
                }
            }
            if let falseAlerts {
                let kind = LabelledHistory.Noise(rawValue: falseAlerts)
                guard kind != nil || falseAlerts == "all" else {
                    throw ValidationError(
                        "--false-alerts: all or one of "
                            + LabelledHistory.Noise.allCases.map(\.rawValue).joined(separator: ", "))
                }
                for a in figures.falseAlerts where kind == nil || a.noise == kind {
                    print(
                        "    \(a.accountId) \(a.tier.rawValue) \(a.noise.rawValue) "
                            + "\(a.raisedAt.rfc3339) (\(Self.weekday(a.raisedAt))) \(a.rule)"
                            + (a.duringSharedHoliday ? " [shared \(figures.sharedDays)]" : "")
                            + (a.score.map { ", score \($0): " } ?? ": ") + a.signals.joined(separator: "; "))
                }
            }
            all.append(figures)
        }
        guard all.count > 1 else { return }
        var hours: [LabelledHistory.Story: (accounts: Int, hours: [Double], business: [Double])] = [:]
        for f in all {
            for s in f.stories {
                hours[s.story, default: (0, [], [])].accounts += s.accounts
                hours[s.story]!.hours += s.hours
                hours[s.story]!.business += s.businessHours
            }
        }
        let merged = LabelledHistory.Story.allCases.compactMap { story in
            hours[story].map {
                DetectionFigures.StoryFigures(
                    story: story, accounts: $0.accounts, hours: $0.hours.sorted(), businessHours: $0.business.sorted())
            }
        }
        print("over \(all.count) seeds:")
        for s in merged {
            let q = { (v: Double?) in v.map { String(format: "%.1f", $0) } ?? "-" }
            print(
                "  \(s.story.rawValue): \(s.hours.count) of \(s.accounts) detected (\(s.missed) missed); "
                    + "hours p50 \(q(s.quantile(0.5))), "
                    + "p90 \(q(s.quantile(0.9))), max \(q(s.hours.last)); working hours p50 "
                    + "\(q(s.businessQuantile(0.5))), p90 \(q(s.businessQuantile(0.9)))")
        }
        let perMonth = all.map(\.falseAlertsPerThousandPerMonth).reduce(0, +) / Double(all.count)
        print(
            "  false alerts per 1,000 ordinary accounts per month: " + String(format: "%.1f", perMonth)
                + "; during the shared holiday: \(all.map(\.holidayFalseAlerts).reduce(0, +)) in all, "
                + "\(all.compactMap(\.holidayCausedAlerts).reduce(0, +)) caused by it, on "
                + "\(all.compactMap(\.holidayAlertedAccounts).reduce(0, +)) accounts that do not alert then without it")
    }
}
