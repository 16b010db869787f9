import Contracts

/// What people did with one account's alerts (issue 24), kept in its `AccountAlertState` and so on
/// the evaluator's changelog: the lifecycle of each open episode (acknowledged, owner, snoozed,
/// resolved), the silences on the account, and the ids of the actions applied (each applied once).
///
/// Bounded: at most `maxActionIds` ids (the oldest forgotten first: a replay older than that many
/// later actions on the same account is applied again, which changes nothing for the same click),
/// at most `maxSilences` silences (the one ending first dropped when full), and a lifecycle only
/// while its episode is open.
public struct AlertActionMemory: Sendable, Equatable, Codable {
    /// The lifecycle of one episode, known by its rule key and opening time.
    public struct Lifecycle: Sendable, Equatable, Codable {
        /// The episode's rule (`AlertId.ruleKey`).
        public var ruleKey: UInt32
        /// When the episode opened (ms, event time).
        public var openedAt: Int64
        /// Who acknowledged it, and when.
        public var acknowledgedBy: String?
        public var acknowledgedAt: Timestamp?
        /// Who took it ("I'll take it"), and when: the episode's later alerts mention them.
        public var owner: String?
        public var takenAt: Timestamp?
        /// No alert of the episode before this time.
        public var snoozedUntil: Timestamp?
        /// How it was resolved, by whom, when: no alert of the episode any more.
        public var outcome: AlertOutcome?
        public var resolvedBy: String?
        public var resolvedAt: Timestamp?
        /// When the episode's first alert was sent (its raise time, event time), and its priority:
        /// time to acknowledge is counted from here (`fleet_evaluator_time_to_acknowledge_seconds`).
        /// Nil for an episode that alerted before this was kept (it is then not timed).
        public var alertedAt: Timestamp?
        public var priority: Priority?

        enum CodingKeys: String, CodingKey {
            case ruleKey = "k"
            case openedAt = "o"
            case acknowledgedBy = "ab"
            case acknowledgedAt = "aa"
            case owner = "ow"
            case takenAt = "ta"
            case snoozedUntil = "su"
            case outcome = "oc"
            case resolvedBy = "rb"
            case resolvedAt = "ra"
            case alertedAt = "fa"
            case priority = "p"
        }
    }

    /// A silence: alerts its matchers select are not sent before `until`.
    public struct Silence: Sendable, Equatable, Codable {
        public var id: String
        public var matchers: SilenceMatchers
        public var until: Timestamp
        public var by: String
        public var at: Timestamp
        public var reason: String?
    }

    /// Episode lifecycles (open episodes only).
    public internal(set) var lifecycles: [Lifecycle] = []
    /// Silences not yet ended.
    public internal(set) var silences: [Silence] = []
    /// Ids of the actions applied (`AlertActionRecord.actionId`), oldest first.
    public internal(set) var actionIds: [String] = []

    /// Most action ids remembered per account.
    public static let maxActionIds = 64
    /// Most silences held per account (or for every account).
    public static let maxSilences = 64

    /// An empty memory.
    public init() {}

    /// True when there is nothing to remember.
    public var isEmpty: Bool { lifecycles.isEmpty && silences.isEmpty && actionIds.isEmpty }

    /// Whether the action `id` was applied already.
    public func hasApplied(_ id: String) -> Bool { actionIds.contains(id) }

    mutating func remember(_ id: String) {
        if actionIds.count >= Self.maxActionIds { actionIds.removeFirst(actionIds.count - Self.maxActionIds + 1) }
        actionIds.append(id)
    }

    mutating func add(_ silence: Silence) {
        silences.removeAll { $0.id == silence.id }
        if silences.count >= Self.maxSilences,
            let first = silences.indices.min(by: { silences[$0].until < silences[$1].until })
        {
            silences.remove(at: first)
        }
        silences.append(silence)
    }

    /// Drops silences ended by `now`.
    mutating func pruneSilences(now: Timestamp) { silences.removeAll { $0.until <= now } }

    enum CodingKeys: String, CodingKey {
        case lifecycles = "l"
        case silences = "s"
        case actionIds = "i"
    }
}
