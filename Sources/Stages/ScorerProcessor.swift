import Contracts
import HealthModel
import Kafka
import WorkerRuntime

extension AccountState: StateValue {
    public init(stateBytes: [UInt8]) throws(Rejection) {
        do {
            try self.init(decoding: stateBytes)
        } catch {
            throw Rejection(code: "bad_state", reason: "\(error)")
        }
    }

    public var stateBytes: [UInt8] { encode() }
}

/// ingest-scorer's processor: `account-events` in, `health-scores` out, per-account state in the
/// changelog. Bad events are rejected with the parser's reason (to `account-events-dlt`).
///
/// Idle accounts are re-scored in event time: the partition's watermark is the largest
/// `occurred_at` seen minus `allowedLateness`; each time it passes a UTC midnight, every account of
/// the partition is advanced to it (silence is a signal), as `fleet-admin replay` does.
public final class ScorerProcessor: RecordProcessor {
    public let scorer: HealthScorer
    public let parser: EventParser
    public let scoresTopic: String
    public let allowedLatenessMs: Int64
    /// Per partition: the next UTC day whose midnight triggers idle re-scoring.
    private var nextBoundaryDay: [Int32: Int64] = [:]
    private var maxSeen: [Int32: Int64] = [:]

    public init(scorer: HealthScorer = HealthScorer(), parser: EventParser = EventParser(), scoresTopic: String, allowedLatenessMs: Int64 = 3_600_000) {
        self.scorer = scorer
        self.parser = parser
        self.scoresTopic = scoresTopic
        self.allowedLatenessMs = allowedLatenessMs
    }

    public func process(_ record: ConsumedRecord, context: ProcessingContext<AccountState>) throws(Rejection) {
        guard let value = record.value else { throw Rejection(code: "empty", reason: "record has no value") }
        let event: AccountEvent
        do {
            event = try parser.parse(value)
        } catch {
            throw Rejection(code: error.code.rawValue, reason: error.reason)
        }
        let id = event.accountId
        var state = context.state[id] ?? scorer.makeState(accountId: id)
        let outcome = scorer.apply(event, to: &state)
        switch outcome.disposition {
        case .applied:
            context.state[id] = state
        case .duplicate:
            break // counted once already: a redelivery or a re-publication
        case .tooLate:
            // Older than the window of remembered event ids: it cannot be checked for duplicates,
            // so it is not counted; it goes to the DLT rather than vanish.
            throw Rejection(code: "too_late", reason: "occurred_at: older than the \(scorer.config.dedupDays)-day dedup window of account \(id)")
        }
        if let score = outcome.record { emit(score, context: context) }
        advanceWatermark(event.occurredAt.millisecondsSinceEpoch, context: context)
    }

    private func advanceWatermark(_ occurredAt: Int64, context: ProcessingContext<AccountState>) {
        let p = context.partition
        let seen = max(maxSeen[p] ?? .min, occurredAt)
        maxSeen[p] = seen
        let watermark = seen - allowedLatenessMs
        guard let boundary = nextBoundaryDay[p] else {
            nextBoundaryDay[p] = Timestamp(millisecondsSinceEpoch: watermark).epochDay + 1
            return
        }
        var day = boundary
        while Timestamp.startOfDay(day).millisecondsSinceEpoch <= watermark {
            let midnight = Timestamp.startOfDay(day)
            for id in context.state.keys.sorted() {
                guard var state = context.state[id] else { continue }
                if let score = scorer.advance(to: midnight, state: &state) {
                    emit(score, context: context)
                }
                context.state[id] = state
            }
            day += 1
        }
        nextBoundaryDay[p] = day
    }

    private func emit(_ score: ScoreRecord, context: ProcessingContext<AccountState>) {
        guard let bytes = try? ScoreRecordWriter.encode(score) else { return }
        context.emit(OutgoingRecord(topic: scoresTopic, key: score.accountId, value: bytes))
    }
}
