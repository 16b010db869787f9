import Contracts
import EventInputs
import FleetConfig
import HealthModel
import Logging
import WorkerRuntime

/// Builds the `ingest-scorer` worker: `account-events` in, `health-scores` out, per-account state
/// in `ingest-scorer-state`, bad events to `account-events-dlt` (all with `TOPIC_PREFIX`); with an
/// inputs file (`INPUTS_FILE`), its input topics too (without the prefix), re-published onto
/// `account-events` by `InputRepartition`.
public enum ScorerStage {
    /// The worker for `settings`, with the scoring file of `SCORING_FILE` (built-in defaults when
    /// unset). Throws `StageStartError` with every problem when the configuration is wrong.
    /// Wall time is read from `clock` (tests pass a `ManualClock`'s).
    public static func make(
        settings: WorkerSettings, env: [String: String], logger: Logger, clock: WallClock = .system
    ) throws(StageStartError)
        -> Worker<ScorerProcessor>
    {
        try make(settings: settings, env: env, logger: logger, clock: clock) { $0 }
    }

    /// The worker as above, with its processor wrapped by `wrap` (a benchmark watching the
    /// partitions' lifecycle passes a forwarding processor; the topology is the stage's own).
    public static func make<Wrapped: RecordProcessor>(
        settings: WorkerSettings, env: [String: String], logger: Logger, clock: WallClock = .system,
        wrap: (ScorerProcessor) -> Wrapped
    ) throws(StageStartError) -> Worker<Wrapped> where Wrapped.State == AccountState {
        let config: FleetConfiguration
        switch FleetStage.ingestScorer.loadConfiguration(env: env) {
        case .success(let c): config = c
        case .failure(let error): throw StageStartError(error.problems)
        }
        let tick: Duration
        do { tick = try FleetStage.ingestScorer.tickInterval(env: env) } catch { throw StageStartError(error) }
        let live: Bool
        switch env["TIME_MODE"]?.lowercased() ?? "live" {
        case "live": live = true
        case "replay": live = false
        case let other:
            throw StageStartError(
                WorkerError.configuration(
                    source: "environment", key: "TIME_MODE", reason: "\"\(other)\" is not live or replay"))
        }
        let inputsFile: InputsFile?
        switch InputRepartition.load(env: env) {
        case .success(let file): inputsFile = file
        case .failure(let error): throw StageStartError(error.problems)
        }
        let processor = ScorerProcessor(
            scorer: HealthScorer(config: config.scoring), scoresTopic: settings.topic(FleetTopics.healthScores),
            live: live)
        let accountEvents = settings.topic(FleetTopics.accountEvents)
        var outputs = [settings.topic(FleetTopics.healthScores)]
        if config.scoring.populationMinAccounts > 0 {
            // Every scorer reads every partition's part: the population is fleet-wide.
            let topic = settings.topic(FleetTopics.scorerPopulation)
            processor.populationTopic = topic
            processor.population = ScorerPopulation(
                table: PopulationTable(logger: logger),
                follower: TopicFollower(
                    topic: topic, name: "population reader",
                    configuration: settings.kafka.merging(settings.consumerOverrides), logger: logger,
                    catchUpTimeout: .seconds(10), absentTopicIsEmpty: true),
                minAccounts: config.scoring.populationMinAccounts, dipBelow: config.scoring.populationDipBelow)
            outputs.append(topic)
        }
        if let inputsFile, !inputsFile.inputs.isEmpty {
            let repartition = InputRepartition(inputs: inputsFile, accountEventsTopic: accountEvents)
            processor.inputs = repartition
            outputs.append(accountEvents)
        }
        // The input topics follow account-events' partitions (partition p of each is read with
        // partition p of account-events): see docs/inputs.md on partition counts.
        let topology = WorkerTopology(
            inputs: [accountEvents] + (processor.inputs?.topics ?? []),
            changelog: settings.topic(FleetTopics.scorerState),
            deadLetter: settings.topic(FleetTopics.accountEventsDLT),
            outputs: outputs)
        return Worker(
            settings: settings, topology: topology, processor: wrap(processor), logger: logger, tickInterval: tick,
            clock: clock)
    }
}
