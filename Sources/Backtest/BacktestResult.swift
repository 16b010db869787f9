import AlertRules
import Contracts
import HealthModel

/// A line of the input that is not a valid `account-events` record.
public struct BadLine: Sendable, Hashable {
    /// 1-based line number in the input.
    public var number: Int
    /// The parser's fixed reason ("occurred_at: not RFC 3339"); it never echoes the input.
    public var reason: String

    /// A bad line by number and reason.
    public init(number: Int, reason: String) {
        self.number = number
        self.reason = reason
    }
}

/// One point of an account's score over time.
public struct ScorePoint: Sendable, Hashable {
    /// When the score record is valid.
    public var at: Timestamp
    /// The score, 0-100.
    public var score: Int
    /// Its zone.
    public var zone: Zone

    /// A point from its parts.
    public init(at: Timestamp, score: Int, zone: Zone) {
        self.at = at
        self.score = score
        self.zone = zone
    }
}

/// An account's score records over the backtested period, with its latest profile.
public struct AccountSeries: Sendable, Hashable {
    /// The account.
    public var accountId: String
    /// Its latest profile (name, tier...).
    public var profile: AccountProfile
    /// Its score records in time order.
    public var points: [ScorePoint]

    /// A series from its parts.
    public init(accountId: String, profile: AccountProfile = AccountProfile(), points: [ScorePoint] = []) {
        self.accountId = accountId
        self.profile = profile
        self.points = points
    }
}

/// An alert raised for one destination, with where it went (at once, after quiet hours, or in a digest).
public struct RaisedAlert: Sendable, Hashable {
    /// The alert as raised (`notBefore` is nil; the disposition says when it is delivered).
    public var alert: AlertRecord
    /// At once, after quiet hours, or in a digest.
    public var disposition: AlertDisposition

    /// A raised alert from its parts.
    public init(alert: AlertRecord, disposition: AlertDisposition) {
        self.alert = alert
        self.disposition = disposition
    }
}

/// What one rule set did over the history.
public struct RulesRun: Sendable {
    /// The records of the `alerts` topic, in the order the evaluator emits them: alerts sent at
    /// once, deferred alerts released at the end of quiet hours, and digests.
    public var alerts: [AlertRecord] = []
    /// Every alert raised, one per destination, including those that went into a digest.
    public var raised: [RaisedAlert] = []
    /// Deferred alerts and digest lines still waiting at the end of the period (not in `alerts`).
    public var heldAtEnd = 0

    /// A run from its parts (empty by default).
    public init(alerts: [AlertRecord] = [], raised: [RaisedAlert] = [], heldAtEnd: Int = 0) {
        self.alerts = alerts
        self.raised = raised
        self.heldAtEnd = heldAtEnd
    }
}

/// The outcome of a backtest: what was read, the scores, and the alerts of each rule set.
public struct BacktestResult: Sendable {
    /// Lines read (blank lines included, so line numbers match the file).
    public var lines = 0
    /// The health model's counts (events, applied, duplicates, too late, rejected by reason, zones).
    public var summary = Replay.Summary()
    /// Bad lines, the first `Backtest.Options.maxBadLinesKept` of them.
    public var badLines: [BadLine] = []
    /// All bad lines, including those not kept.
    public var badLineCount = 0
    /// Valid events after `to` (not applied).
    public var eventsAfterPeriod = 0
    /// The earliest `occurred_at` applied.
    public var firstEventAt: Timestamp?
    /// The latest `occurred_at` applied.
    public var lastEventAt: Timestamp?
    /// The start of the period alerts are reported for (nil: the first event).
    public var from: Timestamp?
    /// The end of the period alerts are reported for (nil: the latest event).
    public var to: Timestamp?
    /// Score records emitted (the `health-scores` topic), the warm-up before `from` included.
    public var scoreRecords = 0
    /// Per account, in first-seen order: score points inside the period.
    public var series: [AccountSeries] = []
    /// One run per rule set, in the order given (the first is the primary; the second, if any, the comparison).
    public var runs: [RulesRun] = []

    /// An empty result.
    public init() {}

    /// The primary rule set's run.
    public var primary: RulesRun { runs.first ?? RulesRun() }
}
