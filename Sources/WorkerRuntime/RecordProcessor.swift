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

    /// Called about every tick interval for each assigned partition of the primary input, with
    /// the wall clock in milliseconds: timers (idle re-scoring, deferred alerts) live here.
    func tick(nowMilliseconds: Int64, context: ProcessingContext<State>)
}

extension RecordProcessor {
    public func tick(nowMilliseconds: Int64, context: ProcessingContext<State>) {}
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

    init(state: PartitionState<State>) {
        self.state = state
    }

    /// Emits an output record. Its input's offset is committed only once it is acknowledged.
    public func emit(_ record: OutgoingRecord) {
        outputs.append(record)
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
