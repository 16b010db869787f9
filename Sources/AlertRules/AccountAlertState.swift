import Contracts

/// Everything the engine remembers about one account: open episodes, cooldowns, recent trigger refs
/// and the recent score peaks. (Alerts held by quiet hours and digest items are the dispatcher's,
/// per destination; an evaluator before that kept them here: see `earlierHolds`.)
///
/// Kept per account so that, in Kafka, it partitions with the `health-scores` key (account id) and
/// is written to the changelog under that key (see `AccountAlertState.encoded()`).
public struct AccountAlertState: Sendable, Equatable {
    /// One open episode of one rule.
    struct Episode: Sendable, Equatable {
        var ruleKey: UInt32
        /// Event time (ms) of the record that opened it: part of the alert id.
        var openedAt: Int64
        /// Alerts raised in this episode so far (0: opened but muted, in cooldown or suppressed).
        var sent: UInt32
        var lastSentAt: Int64
        /// The rule's measure when it last alerted (score points, drop, growth ratio).
        var lastMetric: Double
        var lastSeverity: Severity
    }

    /// A past score that can still be the highest of a drop window (scores strictly decrease along the list).
    struct Peak: Sendable, Equatable {
        var at: Int64
        var score: Int
    }

    /// A trigger already alerted on (or deliberately skipped), by hash of type and ref.
    struct SeenRef: Sendable, Equatable {
        var hash: UInt64
        var at: Int64
    }

    /// The response-SLA clock of one episode whose alert nobody acknowledged yet (issue 24):
    /// when it is `due` (event time, ms), the next escalation is raised.
    struct EscalationTimer: Sendable, Equatable {
        var ruleKey: UInt32
        var openedAt: Int64
        /// When the next escalation is due (ms).
        var due: Int64
        /// Escalations raised so far.
        var raised: UInt32
        var severity: Severity
        var priority: Priority
        /// The destination whose business hours count the SLA (the first one alerted).
        var destination: String
        /// The alert that started the clock.
        var alertId: String
    }

    /// The first message of an open episode at one destination (`RulesEngine+Messages.swift`):
    /// later alerts of the episode there reply in its thread, and actions and the recovery edit it.
    struct Opening: Sendable, Equatable {
        var ruleKey: UInt32
        var openedAt: Int64
        /// The alert as it was sent (its destination is the message's).
        var alert: AlertRecord
    }

    var lastScore: Int?
    /// Event time (ms) of the latest score record evaluated: an older record is late (only its
    /// triggers are evaluated, see `RulesEngine.RecordNews`).
    var lastEvaluatedAt: Int64?
    /// `ScoreRecord.identity` of the last records evaluated (at most `recentRecordCapacity`, oldest
    /// first): the same record again is recognised and skipped.
    var recentRecords: [UInt64] = []
    var peaks: [Peak] = []
    var episodes: [Episode] = []
    /// Per `AlertType.allCases` index: event time (ms) of the last alert of that type, or nil.
    var lastAlertAt: [Int64?] = []
    var lastAlertSeverity: [Severity] = []
    var seenRefs: [SeenRef] = []
    /// Deferred alerts and digest items an earlier evaluator held in this state, read from its
    /// changelog value; the evaluator releases them to the dispatcher (`takeEarlierHolds`) and never
    /// adds any.
    public internal(set) var earlierHolds = EarlierHolds()
    /// What people did with the account's alerts: lifecycles, silences, applied action ids
    /// (`RulesEngine.apply(_:to:)`, issue 24).
    public internal(set) var actions = AlertActionMemory()
    /// SLA clocks of open episodes not acknowledged yet (`RulesEngine+Escalation.swift`).
    var escalations: [EscalationTimer] = []
    /// Opening messages of open episodes (and of episodes just closed, until their last edit).
    var openings: [Opening] = []

    /// How many record identities are remembered per account: a scorer that crashed emits again at
    /// most the records of its last commit interval, a handful per account. An older repeat is
    /// late, and its triggers were seen: it raises nothing either way.
    public static let recentRecordCapacity = 8

    public init() {}

    /// How many record identities are remembered (at most `recentRecordCapacity`).
    public var recentRecordCount: Int { recentRecords.count }

    /// Remembers a record's identity, forgetting the oldest beyond `recentRecordCapacity`.
    mutating func rememberRecord(_ identity: UInt64) {
        if recentRecords.count >= Self.recentRecordCapacity {
            recentRecords.removeFirst(recentRecords.count - Self.recentRecordCapacity + 1)
        }
        recentRecords.append(identity)
    }

    /// The earliest time at which `takeEarlierHolds` has something to release, if any.
    /// The earliest time at which `takeEarlierHolds` has something to release or an escalation is
    /// due (`RulesEngine.dueEscalations`), if any.
    public var nextDue: Timestamp? {
        let escalation = escalations.map(\.due).min().map { Timestamp(millisecondsSinceEpoch: $0) }
        guard let holds = earlierHolds.nextDue else { return escalation }
        return escalation.map { min($0, holds) } ?? holds
    }

    /// The due time of the next escalation, if an SLA clock runs.
    public var nextEscalationDue: Timestamp? {
        escalations.map(\.due).min().map { Timestamp(millisecondsSinceEpoch: $0) }
    }

    /// True when nothing is remembered: the changelog may delete (tombstone) the key.
    public var isEmpty: Bool {
        episodes.isEmpty && earlierHolds.isEmpty && seenRefs.isEmpty && lastEvaluatedAt == nil
            && recentRecords.isEmpty && actions.isEmpty && escalations.isEmpty && openings.isEmpty
            && lastAlertAt.allSatisfy { $0 == nil } && peaks.isEmpty && lastScore == nil
    }

    func episodeIndex(_ key: UInt32) -> Int? {
        for i in episodes.indices where episodes[i].ruleKey == key { return i }
        return nil
    }

    static func typeIndex(_ type: AlertType) -> Int {
        switch type {
        case .customerAtRisk: 0
        case .healthScoreDrop: 1
        case .billingRetryFailed: 2
        case .expansionSignal: 3
        case .upsellOpportunity: 4
        case .recovered: 5
        case .digest: 6
        }
    }

    func lastAlert(of type: AlertType) -> (at: Int64, severity: Severity)? {
        let i = Self.typeIndex(type)
        guard i < lastAlertAt.count, let at = lastAlertAt[i] else { return nil }
        return (at, lastAlertSeverity[i])
    }

    mutating func recordAlert(of type: AlertType, at: Int64, severity: Severity) {
        if lastAlertAt.isEmpty {
            lastAlertAt = Array(repeating: nil, count: AlertType.allCases.count)
            lastAlertSeverity = Array(repeating: .low, count: AlertType.allCases.count)
        }
        let i = Self.typeIndex(type)
        // A late record's alert does not take the cooldown's memory back in time.
        if let later = lastAlertAt[i], later > at { return }
        lastAlertAt[i] = at
        lastAlertSeverity[i] = severity
    }
}
