import AlertRules
import Contracts
import FleetConfig
import Logging
import WorkerRuntime

/// Builds the `evaluator` worker: `health-scores` in, `alerts` out (keyed by destination),
/// per-account alert state in `evaluator-state`, unreadable score records to `health-scores-dlt`;
/// `alert-actions` (co-partitioned with `health-scores`) read beside it, applied to the episodes
/// (`EvaluatorProcessor+Actions.swift`, docs/actions.md).
///
/// Quiet hours and digests are not applied here: the evaluator runs on
/// `RulesConfig.leavingTimeToTheDispatcher()`, and the dispatcher, which owns each destination's
/// queue, holds and digests on its wall clock (see `DestinationSchedule`).
public enum EvaluatorStage {
    /// The worker for `settings` with the rules of `RULES_FILE` (required). Throws
    /// `StageStartError` with every problem when the configuration is wrong.
    /// Wall time is read from `clock` (tests pass a `ManualClock`'s).
    public static func make(
        settings: WorkerSettings, env: [String: String], logger: Logger, clock: WallClock = .system
    ) throws(StageStartError)
        -> Worker<EvaluatorProcessor>
    {
        let config: FleetConfiguration
        switch FleetStage.evaluator.loadConfiguration(env: env) {
        case .success(let c): config = c
        case .failure(let error): throw StageStartError(error.problems)
        }
        guard let rules = config.rules else {
            throw StageStartError([
                ConfigProblem(
                    file: "environment", line: nil, key: "RULES_FILE",
                    message: "missing: the evaluator needs a rules file")
            ])
        }
        let tick: Duration
        do { tick = try FleetStage.evaluator.tickInterval(env: env) } catch { throw StageStartError(error) }
        let alerts = settings.topic(FleetTopics.alerts)
        let actions = settings.topic(FleetTopics.alertActions)
        let processor = EvaluatorProcessor(
            engine: RulesEngine(config: rules.leavingTimeToTheDispatcher()), alertsTopic: alerts, actionsTopic: actions)
        let topology = WorkerTopology(
            inputs: [settings.topic(FleetTopics.healthScores), actions],
            changelog: settings.topic(FleetTopics.evaluatorState),
            deadLetter: settings.topic(FleetTopics.healthScoresDLT), outputs: [alerts])
        return Worker(
            settings: settings, topology: topology, processor: processor, logger: logger, tickInterval: tick,
            clock: clock)
    }
}
