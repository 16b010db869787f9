import Contracts

/// The topics the dispatcher reads and writes (full names, with `TOPIC_PREFIX`).
public struct DispatcherTopics: Sendable {
    public var alerts: String
    /// `alerts-retry-1`, `-2`, `-3`.
    public var retries: [String]
    public var deadLetter: String
    public var delivered: String
    public var state: String
    /// `alert-feedback`: the verdicts of the feedback links (key = alert id).
    public var feedback: String
    /// `alert-actions`: clicks on the alerts' lifecycle buttons (key = account id).
    public var actions: String

    /// The catalog's names with `prefix`.
    public init(prefix: String = "") {
        alerts = prefix + FleetTopics.alerts
        retries = FleetTopics.alertsRetry.map { prefix + $0 }
        deadLetter = prefix + FleetTopics.alertsDLT
        delivered = prefix + FleetTopics.alertsDelivered
        state = prefix + FleetTopics.dispatcherState
        feedback = prefix + FleetTopics.alertFeedback
        actions = prefix + FleetTopics.alertActions
    }
}
