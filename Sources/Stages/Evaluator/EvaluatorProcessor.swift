import AlertRules
import Contracts
import Kafka
import WorkerRuntime

extension AccountAlertState: StateValue {
    public init(stateBytes: [UInt8]) throws(Rejection) {
        do {
            try self.init(decoding: stateBytes)
        } catch {
            throw Rejection(code: "bad_state", reason: "\(error)")
        }
    }

    /// Empty only if encoding failed: the runtime then refuses to write it (and says so).
    public var stateBytes: [UInt8] { (try? encoded()) ?? [] }
}

/// evaluator's processor: `health-scores` in, `alerts` out (keyed by destination), per-account
/// alert state (episodes, cooldowns, seen triggers) in the changelog. Quiet hours and digests are
/// the dispatcher's (`DestinationSchedule`): every alert goes out when it is raised.
///
/// Response SLAs (issue 24): an episode's alert nobody acknowledged within its SLA escalates when
/// the clock kept in the account's state is due, found through the same `DueIndex`.
///
/// A state restored from an earlier evaluator may still hold deferred alerts and digest items
/// (`AccountAlertState.EarlierHolds`): they are handed on when due by event time (the partition's
/// watermark, the latest `valid_at` seen) or, live, by the wall clock, found through a `DueIndex`
/// of due times, never by scanning every account of the partition.
public final class EvaluatorProcessor: RecordProcessor {
    public let engine: RulesEngine
    public let alertsTopic: String
    public let live: Bool
    public let metrics: EvaluatorMetrics
    /// `alert-actions` (with its prefix) when the evaluator reads it beside `health-scores`.
    public let actionsTopic: String?
    let lifecycle: LifecycleMetrics
    private var due: [Int32: DueIndex] = [:]
    /// Per partition owned: episodes open for people, by severity (`fleet_evaluator_open_episodes`),
    /// counted from the restored state at assignment, dropped at revocation, kept by every write.
    private var open: [Int32: [Severity: Int]] = [:]

    public init(
        engine: RulesEngine, alertsTopic: String, live: Bool = true,
        metrics: EvaluatorMetrics = EvaluatorMetrics(), actionsTopic: String? = nil,
        lifecycle: LifecycleMetrics = LifecycleMetrics()
    ) {
        self.actionsTopic = actionsTopic
        self.lifecycle = lifecycle
        self.engine = engine
        self.alertsTopic = alertsTopic
        self.live = live
        self.metrics = metrics
    }

    public func partitionAssigned(context: ProcessingContext<AccountAlertState>) {
        var index = DueIndex()
        for (id, state) in context.state.values {
            if let next = state.nextDue { index.insert(id, due: next.millisecondsSinceEpoch) }
        }
        due[context.partition] = index
        var counts: [Severity: Int] = [:]
        for (_, state) in context.state.values {
            for severity in state.openEpisodeSeverities { counts[severity, default: 0] += 1 }
        }
        open[context.partition] = counts
        publishOpenEpisodes()
    }

    public func partitionRevoked(context: ProcessingContext<AccountAlertState>) {
        due[context.partition] = nil
        open[context.partition] = nil
        publishOpenEpisodes()
    }

    /// Writes `state` as `key`'s, keeping the open-episode counts of the partition.
    func store(
        _ state: AccountAlertState, for key: String, replacing before: AccountAlertState?,
        context: ProcessingContext<AccountAlertState>
    ) {
        context.state[key] = state
        let old = before?.openEpisodeSeverities ?? []
        let new = state.openEpisodeSeverities
        guard old != new else { return }
        var counts = open[context.partition] ?? [:]
        for severity in old { counts[severity, default: 0] -= 1 }
        for severity in new { counts[severity, default: 0] += 1 }
        open[context.partition] = counts
        publishOpenEpisodes()
    }

    private func publishOpenEpisodes() {
        var total: [Severity: Int] = [:]
        for counts in open.values {
            for (severity, n) in counts { total[severity, default: 0] += n }
        }
        lifecycle.openEpisodes(total)
    }

    public func process(_ record: ConsumedRecord, context: ProcessingContext<AccountAlertState>) throws(Rejection) {
        if let actionsTopic, record.topic == actionsTopic {
            try applyAction(record, context: context)
            return
        }
        let score: ScoreRecord
        do {
            score = try ScoreRecordDecoder.decode(record.value ?? [])
        } catch {
            throw Rejection(
                code: "invalid_score_record", reason: "not a health-scores record: \(error.description.prefix(200))")
        }
        try context.observeEventTime(score.validAt.millisecondsSinceEpoch, field: "valid_at")
        if let watermark = context.watermark { release(until: watermark, context: context) }
        let before = context.state[score.accountId]
        var state = before ?? AccountAlertState()
        let dueBefore = state.nextDue
        let evaluation = engine.evaluation(of: score, state: &state)
        metrics.count(evaluation.news)
        // A repeat (the same record again) or a record too late to check: nothing changed.
        guard evaluation.news == .current || evaluation.news == .late else { return }
        var held: [AlertRecord] = []
        let sent = lifecycleFiltered(evaluation.alerts, state: &state, context: context, held: &held)
        engine.armEscalations(for: sent, state: &state)
        // Follow-ups name their episode's opening message; episodes that closed edit theirs.
        let alerts = engine.threaded(sent, state: &state)
        let edits = engine.recoveryUpdates(state: &state, at: score.validAt)
        // Encode before the state records them as raised: an alert that cannot be encoded rejects
        // the record (to the DLT, with its reason) instead of vanishing.
        var outputs: [OutgoingRecord] = []
        for alert in alerts + edits + held { outputs.append(try encode(alert)) }
        store(state, for: score.accountId, replacing: before, context: context)
        // Indexed when the due time changed (the index holds it already otherwise): an account with
        // an SLA clock running and many records adds one entry, not one per record.
        if let next = state.nextDue, next != dueBefore {
            due[context.partition, default: DueIndex()].insert(score.accountId, due: next.millisecondsSinceEpoch)
        }
        for output in outputs { context.emit(output) }
    }

    /// Read again after a crash and already in its account's state: only its time counts.
    public func alreadyApplied(_ record: ConsumedRecord, context: ProcessingContext<AccountAlertState>) {
        guard let score = try? ScoreRecordDecoder.decode(record.value ?? []) else { return }
        guard (try? context.observeEventTime(score.validAt.millisecondsSinceEpoch, field: "valid_at")) != nil else {
            return
        }
        if let watermark = context.watermark { release(until: watermark, context: context) }
    }

    /// Live, earlier holds due by the wall clock are released too; the wall clock is bounded by the
    /// score records' Kafka timestamps (`evidenceBoundedNow`), so a pod whose clock runs ahead does
    /// not release them early.
    public func tick(nowMilliseconds: Int64, context: ProcessingContext<AccountAlertState>) {
        guard live else { return }
        let now = context.evidenceBoundedNow(nowMilliseconds)
        release(until: max(context.watermark ?? now, now), context: context)
    }

    /// Releases the earlier holds due by `now` (ms), from the accounts the index names.
    private func release(until now: Int64, context: ProcessingContext<AccountAlertState>) {
        let p = context.partition
        guard let earliest = due[p]?.earliest, earliest <= now else { return }
        let entries = due[p]!.popDue(through: now)
        let time = Timestamp(millisecondsSinceEpoch: now)
        var digestItems: [AccountAlertState.EarlierHolds.DigestItemEntry] = []
        var released: [AlertRecord] = []
        for id in Set(entries.map(\.account)).sorted() {
            guard let before = context.state[id], let next = before.nextDue else { continue }
            var state = before
            guard next.millisecondsSinceEpoch <= now else {
                due[p]!.insert(id, due: next.millisecondsSinceEpoch)  // a stale entry: keep the real one
                continue
            }
            let taken = state.takeEarlierHolds(dueBy: time)
            released += taken.alerts
            digestItems += taken.digestItems
            // Episodes not acknowledged within their SLA escalate (silences and snoozes still apply).
            var breaches: [Priority] = []
            let escalations = engine.dueEscalations(accountId: id, at: now, state: &state, breaches: &breaches)
            for priority in breaches { lifecycle.slaBreached(priority) }
            var held: [AlertRecord] = []
            let sent = lifecycleFiltered(escalations, state: &state, context: context, held: &held)
            released += engine.threaded(sent, state: &state) + held
            store(state, for: id, replacing: before, context: context)
            if let later = state.nextDue { due[p]!.insert(id, due: later.millisecondsSinceEpoch) }
        }
        released.sort {
            ($0.notBefore?.millisecondsSinceEpoch ?? 0, $0.alertId, $0.destination) < (
                $1.notBefore?.millisecondsSinceEpoch ?? 0, $1.alertId, $1.destination
            )
        }
        let digests = AccountAlertState.EarlierHolds.digests(of: digestItems, policies: engine.config.destinations)
        for alert in released + digests {
            do {
                context.emit(try encode(alert))
            } catch {
                context.emitDeadLetter(
                    key: Array(alert.destination.utf8), value: Array(alert.alertId.utf8), rejection: error)
            }
        }
    }

    func encode(_ alert: AlertRecord) throws(Rejection) -> OutgoingRecord {
        do {
            return OutgoingRecord(topic: alertsTopic, key: alert.destination, value: try RecordCoding.encode(alert))
        } catch {
            throw Rejection(
                code: "output_not_encodable", reason: "alert \(alert.alertId) could not be encoded: \(error)")
        }
    }
}
