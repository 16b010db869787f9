import Contracts

/// The rules engine over the accounts of one input partition, followed by the dispatcher's
/// schedule of each destination: what the fleet does to a partition's score records, in event
/// time, for the rules tests, the backtest and the benchmark.
///
/// The rules engine raises alerts (state per account, as the evaluator keeps it on its changelog);
/// a `DestinationTimeline` then applies the destinations' quiet hours and digests exactly as the
/// dispatcher's `DestinationSchedule` does, an alert arriving at its `raisedAt`. `advance(to:)`
/// releases held alerts and digests due by then (one digest per destination and due time).
public struct PartitionEvaluator: Sendable {
    public let engine: RulesEngine
    private var index: [String: Int] = [:]
    private var accounts: [String] = []
    private var slots: [AccountAlertState] = []
    /// Per slot: changed since the last `takeChangedAccounts()`.
    private var dirty: [Bool] = []
    private var changed: [Int] = []
    /// Quiet hours and digests per destination, as the dispatcher applies them.
    private var timeline: DestinationTimeline

    /// The rules of `engine`, and the destination policies of its rules file.
    public init(engine: RulesEngine) {
        self.init(engine: engine, policies: engine.config.destinations)
    }

    /// The rules of `engine`, and `policies` for the destinations (the dispatcher's: see
    /// `DestinationPolicy.resolved(destinationsFile:rulesFile:)`).
    public init(engine: RulesEngine, policies: [String: DestinationPolicy]) {
        self.engine = engine
        timeline = DestinationTimeline(policies: policies)
    }
    /// The state of one account, if it has one.
    public func state(of account: String) -> AccountAlertState? {
        index[account].map { slots[$0] }
    }

    /// All account states (a snapshot, for changelog writes and tests).
    public var states: [String: AccountAlertState] {
        Dictionary(uniqueKeysWithValues: zip(accounts, slots))
    }

    private mutating func slot(for account: String) -> Int {
        if let k = index[account] { return k }
        let k = slots.count
        index[account] = k
        accounts.append(account)
        slots.append(AccountAlertState())
        dirty.append(false)
        return k
    }

    private mutating func markChanged(_ k: Int) {
        if !dirty[k] {
            dirty[k] = true
            changed.append(k)
        }
    }

    /// Restores an account's state (from the changelog) before records are processed.
    public mutating func restore(account: String, state: AccountAlertState) {
        slots[slot(for: account)] = state
    }

    /// The schedule state of each destination (the dispatcher's changelog values, for tests).
    public var destinationStates: [String: DestinationScheduleState] { timeline.states }

    /// Restores a destination's schedule state (from the dispatcher's changelog).
    public mutating func restore(destination: String, state: DestinationScheduleState) {
        timeline.restore(destination: destination, state: state)
    }

    /// Evaluates one score record and returns the alerts sent at once. Call `advance(to:)` first
    /// when time has moved (the dispatcher's timer).
    public mutating func process(_ record: ScoreRecord) -> [AlertRecord] {
        process(record) { _, _ in }
    }

    /// Evaluates one score record as `process(_:)` does; `observe` also sees every alert raised, one
    /// per destination, with where it went: sent now, held by quiet hours, or queued for a digest
    /// (a backtest reports all three).
    public mutating func process(_ record: ScoreRecord, observe: (AlertRecord, AlertDisposition) -> Void)
        -> [AlertRecord]
    {
        let k = slot(for: record.accountId)
        let raised = engine.evaluate(record, state: &slots[k])
        markChanged(k)
        var now: [AlertRecord] = []
        for alert in raised {
            switch timeline.admit(alert, now: record.validAt) {
            case .deliverNow:
                now.append(alert)
                observe(alert, .now)
            case .holdUntil(let until): observe(alert, .deferred(until: until))
            case .digest(let due): observe(alert, .digest(due: due))
            }
        }
        return now
    }

    /// Releases what is due at `now`: held alerts and digests, each at its due time, in time order.
    public mutating func advance(to now: Timestamp) -> [AlertRecord] {
        timeline.advance(to: now)
    }

    /// The earliest time `advance(to:)` has something to release.
    public var nextDue: Timestamp? { timeline.nextDue }

    /// How many alerts and digest items wait for their time.
    public var waiting: Int { timeline.waiting }

    /// Accounts whose state changed since the last `takeChangedAccounts()` (the changelog writes,
    /// one per account however many records it had).
    public var changedAccounts: Set<String> { Set(changed.map { accounts[$0] }) }

    /// Returns and forgets the accounts changed since the last call.
    public mutating func takeChangedAccounts() -> Set<String> {
        let out = changedAccounts
        for k in changed { dirty[k] = false }
        changed.removeAll(keepingCapacity: true)
        return out
    }
}
