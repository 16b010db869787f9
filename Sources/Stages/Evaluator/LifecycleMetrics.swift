import AlertRules
import Metrics

/// The evaluator's counters of the alert lifecycle (issue 24):
/// `fleet_evaluator_actions_total{outcome}` counts the `alert-actions` records read (`applied`,
/// `duplicate`: an action id applied before, `no_episode`: its alert's episode is closed,
/// `refused`: not whole, `unreadable`: not an action record), and
/// `fleet_evaluator_alerts_suppressed_total{reason}` the alerts raised but not sent (`snoozed`,
/// `resolved`, `silenced`).
public struct LifecycleMetrics: Sendable {
    let factory: any MetricsFactory

    /// - Parameter factory: where the counters are made (the process's metrics system by default).
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
    }

    func count(_ application: ActionApplication) {
        let outcome =
            switch application {
            case .applied: "applied"
            case .duplicate: "duplicate"
            case .noEpisode: "no_episode"
            case .refused: "refused"
            }
        countAction(outcome)
    }

    func countAction(_ outcome: String) {
        Counter(label: "fleet_evaluator_actions_total", dimensions: [("outcome", outcome)], factory: factory)
            .increment()
    }

    func suppressed(_ reason: String) {
        Counter(label: "fleet_evaluator_alerts_suppressed_total", dimensions: [("reason", reason)], factory: factory)
            .increment()
    }
}
