import Contracts
import Kafka
import Logging
import WorkerRuntime

/// Every dispatcher's view of the links already used: a `TopicFollower` of the whole
/// `alert-feedback` topic, so that a link clicked on one replica (or before a restart) is refused
/// as a replay on every other replica and after the restart.
///
/// - It reads every partition of the topic from the start of what the topic holds and hands each
///   verdict to the sink given to `start` (the endpoint's replay guard, which keeps only links not
///   yet expired: the link lifetime, at most 90 days, is well under the topic's retention of a
///   year, so no live link's record has been deleted). A record that is not a verdict is skipped.
/// - `whenCaughtUp` is the barrier a click passes before it is accepted: `true` once everything
///   the topic held at the click is read, `false` when that did not happen within `catchUpTimeout`
///   (the broker down, the reader still loading): the click is then answered "try again" and
///   recorded nowhere.
/// - `stop` ends the reader, frees the librdkafka handle and answers waiting clicks `false`.
///
/// What it cannot close: two clicks of the same link on two replicas within the few milliseconds
/// between one replica's barrier and the other's write both pass. Their records carry the same
/// `link_id`, and the precision report counts one verdict per link (see `FeedbackRecord`).
public final class FeedbackLedger: Sendable {
    /// Receives every verdict read, on the reader's thread.
    public typealias Sink = @Sendable (FeedbackRecord) -> Void

    private let follower: TopicFollower

    /// The topic read (with its prefix).
    public var topic: String { follower.topic }
    /// Longest wait of one click for the reader to catch up.
    public var catchUpTimeout: Duration { follower.catchUpTimeout }

    /// A ledger of `topic` read with `configuration` (the worker's Kafka settings; any group id is
    /// dropped).
    public init(
        topic: String, configuration: KafkaConfiguration, logger: Logger, catchUpTimeout: Duration = .seconds(2)
    ) {
        follower = TopicFollower(
            topic: topic, name: "feedback ledger", configuration: configuration, logger: logger,
            catchUpTimeout: catchUpTimeout)
    }

    /// Starts the reader thread, feeding every verdict to `sink`. Once only.
    public func start(feeding sink: @escaping Sink) {
        follower.start { record in
            guard let value = record.value, let feedback = try? RecordCoding.decode(FeedbackRecord.self, from: value)
            else { return }
            sink(feedback)
        }
    }

    /// Stops the reader, frees its Kafka handle and answers every waiting click `false`. Blocking
    /// (up to the reader's current broker call); call once, off the event loop.
    public func stop() { follower.stop() }

    /// Records read so far.
    public var recordsRead: Int { follower.recordsRead }

    /// Calls `answer` once: `true` when the reader has read everything the topic held at this
    /// call, `false` when that did not happen within `catchUpTimeout` or the ledger is stopping.
    public func whenCaughtUp(_ answer: @escaping @Sendable (Bool) -> Void) { follower.whenCaughtUp(answer) }
}
