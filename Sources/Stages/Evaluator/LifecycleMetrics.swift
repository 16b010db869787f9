import AlertRules
import Contracts
import Metrics

/// The evaluator's counters of the alert lifecycle (issue 24):
/// `fleet_evaluator_actions_total{outcome}` counts the `alert-actions` records read (`applied`,
/// `duplicate`: an action id applied before, `no_episode`: its alert's episode is closed,
/// `refused`: not whole, `unreadable`: not an action record), and
/// `fleet_evaluator_alerts_suppressed_total{reason}` the alerts raised but not sent (`snoozed`,
/// `resolved`, `silenced`). Item 7: `fleet_evaluator_time_to_acknowledge_seconds{priority}` (from
/// an episode's first alert to its first acknowledge or take), `fleet_evaluator_sla_breaches_total
/// {priority}` (episodes whose response SLA passed unanswered, once each),
/// `fleet_evaluator_open_episodes{severity}` (episodes alerted and not resolved, in the partitions
/// this evaluator owns) and `fleet_evaluator_outcomes_total{rule, outcome}` (episodes resolved, by
/// the outcome people gave). Labels are bounded: priorities P1-P9, four severities, the rules of
/// the rules file, three outcomes; never an account.
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

    /// Observes what an applied action changed in its account's episodes: the first acknowledgement
    /// (or take) of an episode whose first alert's time is known is timed, and the first resolution
    /// counted by its rule and outcome.
    func observe(
        _ action: AlertActionRecord, before: AccountAlertState?, after: AccountAlertState
    ) {
        let earlier = before?.actions.lifecycles ?? []
        for life in after.actions.lifecycles {
            let was = earlier.first { $0.ruleKey == life.ruleKey && $0.openedAt == life.openedAt }
            if let acknowledgedAt = life.acknowledgedAt, was?.acknowledgedAt == nil,
                let alertedAt = life.alertedAt, let priority = life.priority
            {
                // Event time to a click's wall time: never below zero (a replay of old scores).
                let ms = max(0, acknowledgedAt.millisecondsSinceEpoch - alertedAt.millisecondsSinceEpoch)
                Timer(
                    label: "fleet_evaluator_time_to_acknowledge_seconds",
                    dimensions: [("priority", priority.rawValue)], preferredDisplayUnit: .seconds,
                    factory: factory
                )
                .recordNanoseconds(ms.multipliedReportingOverflow(by: 1_000_000).overflow ? .max : ms * 1_000_000)
            }
            if let outcome = life.outcome, was?.outcome == nil, let rule = action.rule {
                Counter(
                    label: "fleet_evaluator_outcomes_total",
                    dimensions: [("rule", rule), ("outcome", outcome.rawValue)],
                    factory: factory
                )
                .increment()
            }
        }
    }

    func slaBreached(_ priority: Priority) {
        Counter(
            label: "fleet_evaluator_sla_breaches_total", dimensions: [("priority", priority.rawValue)], factory: factory
        )
        .increment()
    }

    /// Sets `fleet_evaluator_open_episodes` for every severity (0 where none is open).
    func openEpisodes(_ counts: [Severity: Int]) {
        for severity in Severity.allCases {
            Gauge(
                label: "fleet_evaluator_open_episodes", dimensions: [("severity", severity.rawValue)], factory: factory
            )
            .record(counts[severity] ?? 0)
        }
    }
}
