import Contracts

/// The rules engine over the accounts of one input partition: what an evaluator worker keeps per
/// assigned partition, and what the rules tests and the benchmark drive.
///
/// State stays per account (the changelog's keys are account ids). Digest items live in the state
/// of the account that raised them; `advance(to:)` gathers the due ones of all accounts here into
/// one digest per destination and due time. A destination therefore gets one digest per partition
/// that holds items for it (the dispatcher, which owns the destination, may merge digests with the
/// same title and due time).
public struct PartitionEvaluator: Sendable {
    public let engine: RulesEngine
    private var index: [String: Int] = [:]
    private var accounts: [String] = []
    private var slots: [AccountAlertState] = []
    /// Per slot: changed since the last `takeChangedAccounts()`.
    private var dirty: [Bool] = []
    private var changed: [Int] = []
    /// Slots holding deferred alerts or digest items.
    private var waiting: Set<Int> = []
    /// The earliest due time among the waiting accounts (a lower bound), so that a frequent timer
    /// costs nothing until something is due.
    private var earliestDue: Timestamp?

    public init(engine: RulesEngine) {
        self.engine = engine
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

    private mutating func noteDue(_ k: Int) {
        guard let due = slots[k].nextDue else { return }
        waiting.insert(k)
        earliestDue = min(earliestDue ?? due, due)
    }

    /// Restores an account's state (from the changelog) before records are processed.
    public mutating func restore(account: String, state: AccountAlertState) {
        let k = slot(for: account)
        slots[k] = state
        noteDue(k)
    }

    /// Evaluates one score record. Call `advance(to:)` first when time has moved (the worker's timer).
    public mutating func process(_ record: ScoreRecord) -> [AlertRecord] {
        process(record) { _, _ in }
    }

    /// Evaluates one score record as `process(_:)` does; `observe` also sees every alert raised (see
    /// `RulesEngine.evaluate(_:state:observe:)`).
    public mutating func process(_ record: ScoreRecord, observe: (AlertRecord, AlertDisposition) -> Void)
        -> [AlertRecord]
    {
        let k = slot(for: record.accountId)
        let alerts = engine.evaluate(record, state: &slots[k], observe: observe)
        markChanged(k)
        if !slots[k].deferred.isEmpty || !slots[k].digestQueue.isEmpty { noteDue(k) }
        return alerts
    }

    /// Releases what is due at `now`: deferred alerts (in time order), then digests.
    public mutating func advance(to now: Timestamp) -> [AlertRecord] {
        guard let earliest = earliestDue, earliest <= now else { return [] }
        var released: [AlertRecord] = []
        var digestItems: [AccountAlertState.QueuedDigestItem] = []
        for k in waiting.sorted(by: { accounts[$0] < accounts[$1] }) {
            guard let next = slots[k].nextDue, next <= now else { continue }
            released += engine.tick(now: now, state: &slots[k])
            digestItems += engine.takeDueDigestItems(now: now, state: &slots[k])
            if slots[k].deferred.isEmpty && slots[k].digestQueue.isEmpty { waiting.remove(k) }
            markChanged(k)
        }
        earliestDue = nextDue
        released.sort {
            ($0.notBefore!.millisecondsSinceEpoch, $0.alertId, $0.destination) < (
                $1.notBefore!.millisecondsSinceEpoch, $1.alertId, $1.destination
            )
        }
        return released + engine.assembleDigests(digestItems)
    }

    /// The earliest time `advance(to:)` has something to release.
    public var nextDue: Timestamp? {
        waiting.compactMap { slots[$0].nextDue }.min()
    }

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
