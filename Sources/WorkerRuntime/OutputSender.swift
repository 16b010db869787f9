import Kafka
import Synchronization

/// Produces outputs on behalf of records: each output holds its record's offset in the tracker
/// and its partition's current epoch until the broker acknowledges it. Used by the worker thread
/// and by `PendingRecord`s completed on other threads.
final class OutputSender: Sendable {
    let producer: KafkaProducer
    let tracker: OffsetTracker
    let onDelivered: @Sendable () -> Void
    let onFailure: @Sendable (WorkerError) -> Void

    init(producer: KafkaProducer, tracker: OffsetTracker, onDelivered: @escaping @Sendable () -> Void, onFailure: @escaping @Sendable (WorkerError) -> Void) {
        self.producer = producer
        self.tracker = tracker
        self.onDelivered = onDelivered
        self.onFailure = onFailure
    }

    /// `describe` names the source for an error message; it runs only on failure.
    func send(_ output: OutgoingRecord, epochs: EpochCounter, source: (TopicPartition, Int64)?, describe: @escaping @Sendable () -> String) {
        let epoch = epochs.begin()
        if let (tp, offset) = source { tracker.hold(tp, offset: offset) }
        do {
            try producer.send(output) { [tracker, onDelivered, onFailure] result in
                switch result {
                case .success:
                    onDelivered()
                    if let (tp, offset) = source { tracker.release(tp, offset: offset) }
                    epochs.end(epoch)
                case .failure(let error):
                    // Keep the hold: nothing after this record is committed; the worker stops.
                    onFailure(.deliveryFailed(record: describe(), error: error))
                }
            }
        } catch {
            onFailure(.deliveryFailed(record: describe(), error: error))
        }
    }
}

/// A record whose processing finishes later, on any thread (for example once a Slack post
/// answered). Its offset is committed only after `finish()` (or `reject`) and after every output
/// it emitted is acknowledged; records after it may finish first (out-of-order completion,
/// in-order commit).
public final class PendingRecord: Sendable {
    public let record: ConsumedRecord
    private let sender: OutputSender
    private let epochs: EpochCounter
    private let stage: String
    private let deadLetterTopic: String
    private let finished = Atomic<Bool>(false)

    init(record: ConsumedRecord, sender: OutputSender, epochs: EpochCounter, stage: String, deadLetterTopic: String) {
        self.record = record
        self.sender = sender
        self.epochs = epochs
        self.stage = stage
        self.deadLetterTopic = deadLetterTopic
        sender.tracker.hold(record.topicPartition, offset: record.offset)
    }

    /// Emits an output of this record; it is acknowledged before the record's offset is committed.
    public func emit(_ output: OutgoingRecord) {
        let tp = record.topicPartition, offset = record.offset
        sender.send(output, epochs: epochs, source: (tp, offset)) { "\(tp)@\(offset)" }
    }

    /// Marks the record done (its emitted outputs may still be in flight). Idempotent.
    public func finish() {
        guard !finished.exchange(true, ordering: .acquiringAndReleasing) else { return }
        sender.tracker.release(record.topicPartition, offset: record.offset)
    }

    /// Sends the record to the dead-letter topic with its reason, then finishes it.
    public func reject(_ rejection: Rejection) {
        emit(DeadLetter.record(for: record, rejection: rejection, stage: stage, topic: deadLetterTopic))
        finish()
    }
}
