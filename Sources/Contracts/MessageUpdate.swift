/// What changed about an episode whose message is already in a channel (issue 24): an `alerts`
/// record carrying one is not a new alert but an edit of the message of alert `AlertRecord.thread`
/// (`chat.update` in a Slack app channel), with the state line this says.
public struct MessageUpdate: Codable, Sendable, Hashable {
    /// The episode's state after the change.
    public enum State: String, Codable, Sendable, CaseIterable {
        /// Someone is on it.
        case acknowledged
        /// Someone took it: they own the episode.
        case taken
        /// No alert of the episode until `until`.
        case snoozed
        /// Closed by a person with an `outcome`.
        case resolved
        /// Closed by the account: its score left the rule's condition.
        case recovered

        /// Whether the episode is over (the message turns quiet and loses its buttons).
        public var closesEpisode: Bool { self == .resolved || self == .recovered }
    }

    public var state: State
    /// The Slack user id (or admin name) who acted; nil for a recovery.
    public var by: String?
    /// When it changed (the click's time, or the event time of the score that recovered).
    public var at: Timestamp
    /// For `snoozed`: until when.
    public var until: Timestamp?
    /// For `resolved`: how it ended.
    public var outcome: AlertOutcome?
    /// For `recovered`: the account's health when it recovered.
    public var score: Int?

    public init(
        state: State, by: String? = nil, at: Timestamp, until: Timestamp? = nil, outcome: AlertOutcome? = nil,
        score: Int? = nil
    ) {
        self.state = state
        self.by = by
        self.at = at
        self.until = until
        self.outcome = outcome
        self.score = score
    }
}
