import Contracts

/// Everything the engine remembers about one account: open episodes, cooldowns, recent trigger refs,
/// the recent score peaks, alerts deferred by quiet hours and items waiting for a digest.
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

    /// An alert waiting for the next digest of its destination.
    public struct QueuedDigestItem: Sendable, Equatable {
        public var destination: String
        public var due: Timestamp
        public var priority: Priority
        public var item: DigestItem
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
    /// Alerts held until their `notBefore` (quiet hours), released by `RulesEngine.tick`.
    public internal(set) var deferred: [AlertRecord] = []
    /// Items waiting for their destination's digest, released by `RulesEngine.takeDueDigestItems`.
    public internal(set) var digestQueue: [QueuedDigestItem] = []

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

    /// The earliest time at which `tick` has something to release, if any.
    public var nextDue: Timestamp? {
        var next: Timestamp?
        for alert in deferred { if let nb = alert.notBefore, next.map({ nb < $0 }) ?? true { next = nb } }
        for q in digestQueue where next.map({ q.due < $0 }) ?? true { next = q.due }
        return next
    }

    /// True when nothing is remembered: the changelog may delete (tombstone) the key.
    public var isEmpty: Bool {
        episodes.isEmpty && deferred.isEmpty && digestQueue.isEmpty && seenRefs.isEmpty && lastEvaluatedAt == nil
            && recentRecords.isEmpty
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
