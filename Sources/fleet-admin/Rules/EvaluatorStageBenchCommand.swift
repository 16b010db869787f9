import AlertRules
import ArgumentParser
import Contracts
import Foundation
import Kafka
import Stages
import WorkerRuntime

/// `fleet-admin bench evaluator-stage`: the evaluator stage's cost per record (JSON decode, event
/// time, due-work lookup, rules, alert encoding) at several account counts per partition, through
/// the same `EvaluatorProcessor` a worker runs (hosted by `ProcessorHarness`, no Kafka). The cost
/// must stay flat as the partition grows: due work is found through an index, never a scan.
struct EvaluatorStageBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluator-stage",
        abstract:
            "µs per record of the evaluator stage at 1k, 10k, 100k accounts per partition (build with -c release).")

    @Option(help: "Accounts per partition to measure, comma-separated.")
    var accounts = "1000,10000,100000"

    @Option(help: "Score records per account (rounds of one record per account an hour).")
    var roundsPerAccount = 12

    @Option(help: "Timed runs per size; the best is printed.")
    var runs = 3

    func run() throws {
        let sizes = accounts.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !sizes.isEmpty, roundsPerAccount > 0, runs > 0 else {
            throw ValidationError("need sizes, rounds and runs > 0")
        }
        let config = try RulesConfig.parse(yaml: RulesBenchCommand.rulesYAML(routes: 20), file: "bench-rules.yaml")
        let engine = RulesEngine(config: config)
        print(
            "evaluator stage, \(config.rules.count) rules, \(config.routes.count) routes; records are JSON as health-scores carries them"
        )
        for size in sizes {
            let (scores, _) = RulesBenchCommand.generate(
                records: size * roundsPerAccount, accounts: size, storyPercent: 2)
            let records = try scores.map { score in
                ConsumedRecord(
                    topic: "health-scores", partition: 0, offset: 0, key: Array(score.accountId.utf8),
                    value: try RecordCoding.encode(score), headers: [], timestamp: nil)
            }
            let clock = scores.map { $0.validAt.millisecondsSinceEpoch + 60_000 }
            var best = Double.infinity
            var alerts = 0
            for _ in 1...runs {
                let harness = ProcessorHarness(
                    processor: EvaluatorProcessor(engine: engine, alertsTopic: "alerts", live: false))
                alerts = 0
                let start = ContinuousClock.now
                for i in records.indices {
                    if case .emitted(let out) = harness.process(records[i], now: clock[i]) { alerts &+= out.count }
                }
                let elapsed = ContinuousClock.now - start
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                best = min(best, seconds * 1e6 / Double(records.count))
            }
            print(
                String(
                    format: "  %7d accounts: %6.2f µs/record (%8.0f records/s), %d alerts from %d records", size, best,
                    1e6 / best, alerts, records.count))
        }
    }
}
