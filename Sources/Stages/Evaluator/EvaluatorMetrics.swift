import AlertRules
import Metrics

/// The evaluator's counters of what its score records were (`RulesEngine.RecordNews`):
/// `fleet_evaluator_score_records_skipped_total{reason}` counts the records not evaluated
/// (`repeat`: the same record again, such as one a scorer emitted again after a crash; `too_late`:
/// older than the newest one by more than the trigger dedup window), and
/// `fleet_evaluator_late_score_records_total` the late records evaluated for their triggers.
public struct EvaluatorMetrics: Sendable {
    let repeats: Counter
    let tooLate: Counter
    let late: Counter

    /// - Parameter factory: where the counters are made (the process's metrics system by default).
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        let skipped = "fleet_evaluator_score_records_skipped_total"
        repeats = Counter(label: skipped, dimensions: [("reason", "repeat")], factory: factory)
        tooLate = Counter(label: skipped, dimensions: [("reason", "too_late")], factory: factory)
        late = Counter(label: "fleet_evaluator_late_score_records_total", dimensions: [], factory: factory)
    }

    func count(_ news: RulesEngine.RecordNews) {
        switch news {
        case .current: break
        case .late: late.increment()
        case .repeated: repeats.increment()
        case .tooLate: tooLate.increment()
        }
    }
}
