import Contracts
import Kafka

/// What a stage does with its records. The runtime calls it on the worker thread only, one record
/// at a time, in partition order: it needs no locks of its own.
public protocol RecordProcessor: AnyObject, SendableMetatype {
    associatedtype State: StateValue

    /// Handles one record: read and write the partition's state, emit outputs. Throw a
    /// `Rejection` to send the record to the dead-letter topic with its reason; the outputs
    /// emitted before the throw are dropped, but state already written is kept, so validate
    /// before writing state.
    func process(_ record: ConsumedRecord, context: ProcessingContext<State>) throws(Rejection)

    /// Called about every tick interval for each active partition, with the wall clock in
    /// milliseconds: timers (idle re-scoring, deferred alerts, digests) live here. A live stage
    /// lets time move on the wall clock too (`max(context.watermark, now - lateness)`), so silence
    /// is seen even when the whole partition is quiet; replay uses `context.watermark` only.
    func tick(nowMilliseconds: Int64, context: ProcessingContext<State>)

    /// The partition's state is restored and its records are about to flow: build indexes over
    /// the state, reset per-partition memory (`context.watermark` is already restored).
    func partitionAssigned(context: ProcessingContext<State>)

    /// The partition's in-flight work is about to be drained (it is being revoked, or the worker
    /// is stopping): finish what only a timer would finish (group waits, parked records), since no
    /// tick runs during the drain, or hand it back unfinished (`PendingRecord.giveUp`) for the next
    /// owner. Outputs emitted here are sent as a tick's are.
    func partitionDraining(context: ProcessingContext<State>)

    /// A record read again after a crash whose effect on its key is already in the restored
    /// state (its outputs were acknowledged before that state was written): do not apply it or
    /// emit its outputs again, but let it move time as it did the first time (the partition's
    /// watermark and what a timer releases by it), so the records after it see the same state.
    func alreadyApplied(_ record: ConsumedRecord, context: ProcessingContext<State>)

    /// The partition is going away (revoked or lost): forget everything kept for it.
    func partitionRevoked(context: ProcessingContext<State>)

    /// What a partition needs read before its records flow, besides its state (the dispatcher's
    /// delivery log): called with the partition number on the restore thread, where blocking
    /// reads belong (never the worker thread, which keeps serving the other partitions). Its
    /// result is in `context.assignmentData` when `partitionAssigned` is called. A throw fails the
    /// restore: the partition stays paused and the restore is retried with back-off.
    var assignmentReader: (@Sendable (Int32) throws -> any Sendable)? { get }

    /// The worker is starting, before it joins its group: start what the processor reads beside its
    /// partitions (a global table), so it is warm when the first partition comes. Called once, on
    /// the worker thread; `workerStopped` follows even when the start fails.
    func workerStarting()

    /// The worker has stopped (its consumer closed, its producer flushed): release what the
    /// processor holds beyond its partitions (a reader thread, a librdkafka handle). Called once,
    /// on the worker thread.
    func workerStopped()
}

extension RecordProcessor {
    public func tick(nowMilliseconds: Int64, context: ProcessingContext<State>) {}
    public func partitionAssigned(context: ProcessingContext<State>) {}
    public func partitionDraining(context: ProcessingContext<State>) {}
    public func partitionRevoked(context: ProcessingContext<State>) {}
    public func alreadyApplied(_ record: ConsumedRecord, context: ProcessingContext<State>) {}
    public var assignmentReader: (@Sendable (Int32) throws -> any Sendable)? { nil }
    public func workerStarting() {}
    public func workerStopped() {}
}

/// The processor's view of one partition while it handles a record or a tick.
public final class ProcessingContext<State: StateValue> {
    /// The partition's keyed state.
    public let state: PartitionState<State>
    /// The partition number (the same for the input and the changelog).
    public var partition: Int32 { state.partition }
    var outputs: [OutgoingRecord] = []
    /// The record being processed (nil during ticks).
    var current: ConsumedRecord?
    /// Set by `retryLater`.
    var retryAt: Int64?
    var makePending: ((ConsumedRecord) -> PendingRecord)?
    /// What the processor's `assignmentReader` read for this partition at its assignment.
    public internal(set) var assignmentData: (any Sendable)?
    /// The partition's event-time watermark (ms), saved with its state.
    public private(set) var watermark: Int64?
    var watermarkChanged = false
    /// Wall clock (ms) when the current batch was polled.
    public internal(set) var wallClockMilliseconds: Int64 = 0
    /// Whether the partition has caught up with its input: inside `process`, the record is the
    /// latest its topic-partition holds; in `tick`, every input of the partition is consumed to its
    /// end (or has been quiet for a while). While a backlog is read (after a restart, a rebalance,
    /// an outage) time must follow the events, not the wall clock, or the backlog becomes "late".
    public internal(set) var caughtUp = true
    /// How far ahead of the wall clock an event time may be.
    let maxClockSkewMilliseconds: Int64
    /// The bound on event times, shared with the offline tools.
    var futureTimeBound: FutureTimeBound { FutureTimeBound(maxClockSkewMilliseconds: maxClockSkewMilliseconds) }
    /// The largest `Kafka timestamp - wall clock when read` among this assignment's records whose
    /// event time was observed: how far the producers' (or the broker's) clock was seen ahead of this
    /// worker's, negative when this worker's clock runs ahead. Nil before the first timestamped record.
    public private(set) var recordClockLeadMilliseconds: Int64?
    var stage = ""
    var deadLetterTopic = ""

    init(state: PartitionState<State>, watermark: Int64? = nil, maxClockSkewMilliseconds: Int64 = 600_000) {
        self.state = state
        self.watermark = watermark
        self.maxClockSkewMilliseconds = maxClockSkewMilliseconds
    }

    /// Takes an event's time into the partition's watermark. An event time beyond the wall clock
    /// plus the allowed skew (`MAX_CLOCK_SKEW_MS`, default 10 minutes; `FutureTimeBound`, the
    /// definition the offline tools share) is refused with the code `future_event_time` and the
    /// reason "occurred_at in the future" and never moves time: one event dated years ahead must not
    /// re-score every account through every midnight nor make real events "too late".
    /// It also notes the current record's Kafka timestamp for `evidenceBoundedNow(_:)`.
    /// Call it before writing state.
    public func observeEventTime(_ milliseconds: Int64, field: String = "occurred_at") throws(Rejection) {
        noteRecordClock()
        let bound = futureTimeBound
        if let reason = bound.violation(milliseconds, now: wallClockMilliseconds, field: field) {
            throw Rejection(code: FutureTimeBound.code, reason: reason)
        }
        if milliseconds > watermark ?? .min {
            watermark = milliseconds
            watermarkChanged = true
        }
    }

    /// The wall clock `now` for a live timer, bounded by what the partition's records show of the
    /// clock the producers and the broker share: never further ahead of the newest Kafka record
    /// timestamp seen (carried forward by the wall-clock time elapsed since it was read) than the
    /// allowed skew. A worker whose clock runs hours ahead thus stamps nothing that a worker with a
    /// right clock refuses as `future_event_time`; a quiet partition still sees time pass, since the
    /// bound moves with the wall clock. Before the first timestamped record of the assignment, and
    /// when a producer's clock runs further ahead than this worker's, `now` itself.
    public func evidenceBoundedNow(_ now: Int64) -> Int64 {
        guard let lead = recordClockLeadMilliseconds else { return now }
        let (evidence, overflow) = now.addingReportingOverflow(lead)
        guard !overflow else { return now }
        return min(now, futureTimeBound.limit(now: evidence))
    }

    /// Notes how far the current record's Kafka timestamp is ahead of the wall clock (the largest
    /// lead wins: the freshest reading of the producers' clock).
    func noteRecordClock() {
        guard let stamp = current?.timestamp, stamp > 0 else { return }
        let (lead, overflow) = stamp.subtractingReportingOverflow(wallClockMilliseconds)
        guard !overflow else { return }
        recordClockLeadMilliseconds = max(recordClockLeadMilliseconds ?? .min, lead)
    }

    /// Emits an output record. Its input's offset is committed only once it is acknowledged.
    public func emit(_ record: OutgoingRecord) {
        outputs.append(record)
    }

    /// Sends something that is not the current record to the dead-letter topic with its reason,
    /// for example an output a timer could not encode: nothing is dropped silently.
    public func emitDeadLetter(key: [UInt8]?, value: [UInt8]?, rejection: Rejection) {
        outputs.append(
            DeadLetter.letter(
                topic: deadLetterTopic, key: key, value: value, rejection: rejection,
                source: (stage, current?.topic ?? "timer", partition, current?.offset)))
    }

    /// Keeps the current record open after `process` returns: it finishes when the returned
    /// `PendingRecord` is finished (from any thread). Records after it may finish first; the
    /// commit never passes an open record. Only valid inside `process`.
    public func deferCompletion() -> PendingRecord {
        guard let record = current, let makePending else {
            preconditionFailure("deferCompletion() is only valid inside process(_:context:)")
        }
        return makePending(record)
    }

    /// The current record is not due yet: its partition is paused and rewound to it, and it is
    /// delivered again at `milliseconds` (wall clock, since the epoch). Other partitions keep
    /// flowing; nothing is committed past it. Outputs emitted for it are dropped; state written
    /// is kept, so decide before writing state. Only valid inside `process`.
    public func retryLater(atMilliseconds milliseconds: Int64) {
        precondition(current != nil, "retryLater(atMilliseconds:) is only valid inside process(_:context:)")
        retryAt = milliseconds
    }
}
