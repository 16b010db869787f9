/// The topic names of `topics/topics.yaml` (before `TOPIC_PREFIX`).
public enum FleetTopics {
    public static let accountEvents = "account-events"
    public static let accountEventsDLT = "account-events-dlt"
    public static let healthScores = "health-scores"
    /// Where the evaluator's rejected score records go (not in the catalog: auto-created by the broker).
    public static let healthScoresDLT = "health-scores-dlt"
    public static let scorerState = "ingest-scorer-state"
    /// Each scorer partition's share of the fleet-wide activity (key = partition number, compacted),
    /// read whole by every scorer: the population that tells a shared holiday from one account's dip.
    public static let scorerPopulation = "ingest-scorer-population"
    public static let evaluatorState = "evaluator-state"
    public static let alerts = "alerts"
    public static let alertsRetry = ["alerts-retry-1", "alerts-retry-2", "alerts-retry-3"]
    public static let alertsDLT = "alerts-dlt"
    public static let alertsDelivered = "alerts-delivered"
    /// The dispatcher's per-destination schedule state (held alerts, digest items).
    public static let dispatcherState = "dispatcher-state"
    /// Verdicts from the alerts' feedback links (key = alert id), written by the dispatcher's `/feedback` path.
    public static let alertFeedback = "alert-feedback"
    /// What people did with alerts (key = account id, co-partitioned with `health-scores`): Slack
    /// button clicks from the dispatcher's `/slack/actions` path and `fleet-admin silence` records.
    public static let alertActions = "alert-actions"
}
