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

    public var stateBytes: [UInt8] { (try? encoded()) ?? [] }
}

/// evaluator's processor: `health-scores` in, `alerts` out (keyed by destination), per-account
/// alert state (episodes, cooldowns, deferred alerts, digest items) in the changelog.
///
/// Time is event time: the partition's clock is the latest `valid_at` seen; deferred alerts and
/// digests due by then are released before the record is evaluated, so a replay of history gives
/// the same alerts.
public final class EvaluatorProcessor: RecordProcessor {
    public let engine: RulesEngine
    public let alertsTopic: String
    private var clock: [Int32: Timestamp] = [:]

    public init(engine: RulesEngine, alertsTopic: String) {
        self.engine = engine
        self.alertsTopic = alertsTopic
    }

    public func process(_ record: ConsumedRecord, context: ProcessingContext<AccountAlertState>) throws(Rejection) {
        let score: ScoreRecord
        do {
            score = try RecordCoding.decode(ScoreRecord.self, from: record.value ?? [])
        } catch {
            throw Rejection(code: "invalid_score_record", reason: "not a health-scores record: \(String(describing: error).prefix(200))")
        }
        let p = context.partition
        if clock[p].map({ score.validAt > $0 }) ?? true {
            clock[p] = score.validAt
            release(until: score.validAt, context: context)
        }
        var state = context.state[score.accountId] ?? AccountAlertState()
        let alerts = engine.evaluate(score, state: &state)
        context.state[score.accountId] = state
        for alert in alerts { emit(alert, context: context) }
    }

    /// Releases deferred alerts and digests due by `now` across the partition's accounts.
    private func release(until now: Timestamp, context: ProcessingContext<AccountAlertState>) {
        var digestItems: [AccountAlertState.QueuedDigestItem] = []
        for id in context.state.keys.sorted() {
            guard var state = context.state[id], !state.deferred.isEmpty || !state.digestQueue.isEmpty else { continue }
            let due = engine.tick(now: now, state: &state)
            let items = engine.takeDueDigestItems(now: now, state: &state)
            guard !due.isEmpty || !items.isEmpty else { continue }
            digestItems += items
            context.state[id] = state
            for alert in due { emit(alert, context: context) }
        }
        for digest in engine.assembleDigests(digestItems) { emit(digest, context: context) }
    }

    private func emit(_ alert: AlertRecord, context: ProcessingContext<AccountAlertState>) {
        guard let bytes = try? RecordCoding.encode(alert) else { return }
        context.emit(OutgoingRecord(topic: alertsTopic, key: alert.destination, value: bytes))
    }
}
