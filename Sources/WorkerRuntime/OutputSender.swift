import Kafka
import Synchronization

/// Produces outputs on behalf of records: each output holds its record's offset in its owner's
/// tracker and its owner's current epoch until the broker acknowledges it. Used by the worker
/// thread and by `PendingRecord`s completed on other threads.
///
/// Trackers and epoch counters belong to one assignment of a partition (one `PartitionOwner`):
/// a late acknowledgement from an earlier assignment releases holds in that assignment's objects,
/// never in the current one's.
final class OutputSender: Sendable {
    let producer: KafkaProducer
    let onDelivered: @Sendable () -> Void
    let onFailure: @Sendable (WorkerError) -> Void

    init(
        producer: KafkaProducer, onDelivered: @escaping @Sendable () -> Void,
        onFailure: @escaping @Sendable (WorkerError) -> Void
    ) {
        self.producer = producer
        self.onDelivered = onDelivered
        self.onFailure = onFailure
    }

    /// `describe` names the source for an error message; it runs only on failure. The worker
    /// thread may block while librdkafka's queue is full (`blocking`); other threads never do.
    /// `acknowledged`, when given, is called with the broker's verdict (true: acknowledged) after
    /// the worker's own bookkeeping, on the producer's thread.
    func send(
        _ output: OutgoingRecord, tracker: OffsetTracker, epochs: EpochCounter, source: (TopicPartition, Int64)?,
        blocking: Bool,
        acknowledged: (@Sendable (Bool) -> Void)? = nil, describe: @escaping @Sendable () -> String
    ) {
        let epoch = epochs.begin()
        if let (tp, offset) = source { tracker.hold(tp, offset: offset) }
        let completion: KafkaProducer.Completion = { [onDelivered, onFailure] result in
            switch result {
            case .success:
                onDelivered()
                if let (tp, offset) = source { tracker.release(tp, offset: offset) }
                epochs.end(epoch)
                acknowledged?(true)
            case .failure(let error):
                // Keep the hold: nothing after this record is committed; the worker stops.
                onFailure(.deliveryFailed(record: describe(), error: error))
                acknowledged?(false)
            }
        }
        if blocking {
            do {
                try producer.send(output, completion: completion)
            } catch {
                onFailure(.deliveryFailed(record: describe(), error: error))
                acknowledged?(false)
            }
        } else {
            producer.sendWithoutBlocking(output, completion: completion)
        }
    }
}

/// A record whose processing finishes later, on any thread (for example once a Slack post
/// answered). Its offset is committed only after `finish()` (or `reject`) and after every output
/// it emitted is acknowledged; records after it may finish first (out-of-order completion,
/// in-order commit). Neither `emit` nor `finish` ever blocks the calling thread.
///
/// It belongs to one assignment of its partition: finished after the partition was revoked (or
/// after a drain timed out), it changes nothing in a later assignment.
public final class PendingRecord: Sendable {
    public let record: ConsumedRecord
    private let sender: OutputSender
    private let tracker: OffsetTracker
    private let epochs: EpochCounter
    private let stage: String
    private let deadLetterTopic: String
    private let onFinish: @Sendable () -> Void
    private let finished = Atomic<Bool>(false)

    init(
        record: ConsumedRecord, sender: OutputSender, tracker: OffsetTracker, epochs: EpochCounter, stage: String,
        deadLetterTopic: String,
        onFinish: @escaping @Sendable () -> Void
    ) {
        self.record = record
        self.sender = sender
        self.tracker = tracker
        self.epochs = epochs
        self.stage = stage
        self.deadLetterTopic = deadLetterTopic
        self.onFinish = onFinish
        tracker.hold(record.topicPartition, offset: record.offset)
    }

    /// Emits an output of this record; it is acknowledged before the record's offset is committed.
    public func emit(_ output: OutgoingRecord) {
        let tp = record.topicPartition
        let offset = record.offset
        sender.send(output, tracker: tracker, epochs: epochs, source: (tp, offset), blocking: false) {
            "\(tp)@\(offset)"
        }
    }

    /// Emits an output of this record and calls `acknowledged` once the broker answered for it
    /// (true: acknowledged with the producer's acks; false: it could not be delivered, and the
    /// worker stops without committing past this record). For a write-ahead record (the
    /// dispatcher's intent to post): act only once it is durable. `acknowledged` runs on the
    /// producer's thread: keep it short and never block in it.
    public func emit(_ output: OutgoingRecord, acknowledged: @escaping @Sendable (Bool) -> Void) {
        let tp = record.topicPartition
        let offset = record.offset
        sender.send(
            output, tracker: tracker, epochs: epochs, source: (tp, offset), blocking: false, acknowledged: acknowledged
        ) { "\(tp)@\(offset)" }
    }

    /// Marks the record done (its emitted outputs may still be in flight). Idempotent.
    public func finish() {
        guard !finished.exchange(true, ordering: .acquiringAndReleasing) else { return }
        onFinish()
        tracker.release(record.topicPartition, offset: record.offset)
    }

    /// Hands the record back unfinished: its partition is going to another owner before the work
    /// started (say, a post still queued behind a rate limit when the partition is revoked). The
    /// drain stops waiting for it, its offset is not committed, and the next owner reads it again.
    /// It also keeps its key's state from claiming it as applied. Idempotent; no-op once finished.
    public func giveUp() {
        guard !finished.exchange(true, ordering: .acquiringAndReleasing) else { return }
        tracker.giveUp(record.topicPartition, offset: record.offset)
    }

    /// Sends the record to the dead-letter topic with its reason, then finishes it.
    public func reject(_ rejection: Rejection) {
        emit(DeadLetter.record(for: record, rejection: rejection, stage: stage, topic: deadLetterTopic))
        finish()
    }
}
