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
        abstract: "Time to detect the sample's dark accounts, and false positives, measured with a backtest of generated samples.",
        discussion: """
        For each seed: generates the sample (fleet-admin sample), backtests it with the rules file, and \
        prints, for the collapsing and the silent account, how long after going dark the score left \
        healthy, went critical, and the first churn-risk alert was raised; then the ordinary accounts that \
        left healthy or alerted (false positives).
        """
    )

    @Option(help: "Seeds, comma-separated (each a sample).") var seeds: String = "42"
    @Option(help: "Accounts per sample.") var accounts: Int = 100
    @Option(help: "Days per sample.") var days: Int = 60
    @Option(help: "Rules file.") var rules: String = "config/rules.yaml"
    @Option(help: "Scoring file; default: the built-in defaults.") var scoring: String?
    @Option(help: "Tier of the silent account (enterprise, mid_market, smb); default: drawn.") var silentTier: String?

    func run() throws {
        var config = ScoringConfig()
        if let scoring {
            let text = try String(contentsOfFile: scoring, encoding: .utf8)
            do { config = try ScoringConfig(yaml: text, file: scoring) } catch { throw HistoryCommandError(message: error.description) }
        }
        let engine = RulesEngine(config: try RulesCommand.loadRules(rules))
        var tier: Tier?
        if let silentTier {
            guard let t = Tier(rawValue: silentTier) else { throw ValidationError("--silent-tier: enterprise, mid_market or smb") }
            tier = t
        }
        let seedList = seeds.split(separator: ",").compactMap { UInt64($0.trimmingCharacters(in: .whitespaces)) }
        guard !seedList.isEmpty else { throw ValidationError("--seeds: numbers, comma-separated") }
        var perStory: [String: [Double]] = [:]
        var falsePositives = 0, ordinary = 0, ordinaryAlerts = 0
        for seed in seedList {
            let generator = SampleGenerator(options: .init(seed: seed, accounts: accounts, days: days, silentTier: tier))
            var backtest = Backtest(scorer: HealthScorer(config: config), engines: [engine],
                                    options: .init(to: generator.options.start.adding(days: Int64(days))))
            for day in 0..<days {
                for line in generator.lines(forDay: day) { line.withUnsafeBufferPointer { backtest.process(line: $0) } }
            }
            let detection = StoryDetection(generator: generator, result: backtest.finish())
            print("seed \(seed):")
            for line in detection.lines { print("  " + line) }
            for s in detection.stories { perStory["\(s.story) (\(s.tier?.rawValue ?? "?"))", default: []].append(s.hoursToAtRisk ?? .infinity) }
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
            print("  false positives: \(falsePositives) of \(ordinary) ordinary accounts left healthy; \(ordinaryAlerts) alerts on ordinary accounts")
        }
    }
}
