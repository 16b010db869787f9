import BlockingWork
import Contracts
import Foundation
import Kafka
import Logging
import Synchronization

/// Every dispatcher's view of the links already used: a background reader of the whole
/// `alert-feedback` topic, so that a link clicked on one replica (or before a restart) is refused
/// as a replay on every other replica and after the restart.
///
/// - It reads every partition of the topic from the start of what the topic holds (no consumer
///   group, nothing committed), on a thread of its own (never the cooperative pool, never the HTTP
///   event loop), and hands each record to the sink given to `start` (the endpoint's replay
///   guard, which keeps only links not yet expired: the link lifetime, at most 90 days, is well
///   under the topic's retention of a year, so no live link's record has been deleted).
/// - `whenCaughtUp` is the barrier a click passes before it is accepted: the reader asks the broker
///   for each partition's high watermark as of the click, and answers `true` once it has read (and
///   fed to the sink) everything below them, `false` when that did not happen within
///   `catchUpTimeout` (the broker down, the reader still loading): the click is then answered
///   "try again" and recorded nowhere. The answer comes on the reader's thread or, on time-out, on a
///   dispatch queue; never on the caller's.
/// - The broker may be down at start or at any time: the reader retries with a growing back-off
///   (up to 5 s), logging the first failure as a warning and the rest at debug, and the recovery.
/// - `stop` ends the thread, frees the librdkafka handle and answers waiting clicks `false`.
///
/// What it cannot close: two clicks of the same link on two replicas within the few milliseconds
/// between one replica's barrier and the other's write both pass. Their records carry the same
/// `link_id`, and the precision report counts one verdict per link (see `FeedbackRecord`).
public final class FeedbackLedger: Sendable {
    /// Receives every record read, on the reader's thread.
    public typealias Sink = @Sendable (FeedbackRecord) -> Void

    /// The topic read (with its prefix).
    public let topic: String
    /// Longest wait of one click for the reader to catch up.
    public let catchUpTimeout: Duration
    private let configuration: KafkaConfiguration
    private let logger: Logger
    private let state = Mutex(State())
    private let finished = DispatchSemaphore(value: 0)
    /// Signalled by `stop` to cut a back-off short.
    private let wake = DispatchSemaphore(value: 0)

    private struct Waiter {
        var answer: @Sendable (Bool) -> Void
        /// High watermark per partition as of the click; nil until the reader asked the broker.
        var targets: [Int32: (low: Int64, high: Int64)]?
    }

    private struct State {
        var sink: Sink?
        var started = false
        var stopping = false
        var nextId = 0
        var waiters: [Int: Waiter] = [:]
        /// Records read since the start (for tests and logs).
        var read = 0
    }

    /// A ledger of `topic` read with `configuration` (the worker's Kafka settings; any group id is
    /// dropped).
    public init(
        topic: String, configuration: KafkaConfiguration, logger: Logger, catchUpTimeout: Duration = .seconds(2)
    ) {
        var config = configuration
        config["group.id"] = nil
        config["enable.auto.commit"] = "false"
        config["enable.auto.offset.store"] = "false"
        config["auto.offset.reset"] = "earliest"
        self.topic = topic
        self.configuration = config
        self.logger = logger
        self.catchUpTimeout = catchUpTimeout
    }

    /// Starts the reader thread, feeding every record to `sink`. Once only.
    public func start(feeding sink: @escaping Sink) {
        let go = state.withLock { s -> Bool in
            guard !s.started else { return false }
            s.started = true
            s.sink = sink
            return true
        }
        guard go else { return }
        BlockingThread.start(name: "feedback-ledger") { [self] in
            run()
            finished.signal()
        }
    }

    /// Stops the reader, frees its Kafka handle and answers every waiting click `false`. Blocking
    /// (up to the reader's current broker call); call once, off the event loop.
    public func stop() {
        let (wasStarted, pending) = state.withLock { s -> (Bool, [Waiter]) in
            s.stopping = true
            let pending = Array(s.waiters.values)
            s.waiters = [:]
            return (s.started, pending)
        }
        for waiter in pending { waiter.answer(false) }
        guard wasStarted else { return }
        wake.signal()
        finished.wait()
    }

    /// Records read so far.
    public var recordsRead: Int { state.withLock { $0.read } }

    /// Calls `answer` once: `true` when the reader has read everything the topic held at this
    /// call, `false` when that did not happen within `catchUpTimeout` or the ledger is stopping.
    public func whenCaughtUp(_ answer: @escaping @Sendable (Bool) -> Void) {
        let id = state.withLock { s -> Int? in
            guard !s.stopping else { return nil }
            s.nextId += 1
            s.waiters[s.nextId] = Waiter(answer: answer, targets: nil)
            return s.nextId
        }
        guard let id else {
            answer(false)
            return
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + catchUpTimeout.timeInterval) { [weak self] in
            guard let self, let waiter = self.state.withLock({ $0.waiters.removeValue(forKey: id) }) else { return }
            waiter.answer(false)
        }
    }

    // MARK: - The reader thread

    private var isStopping: Bool { state.withLock { $0.stopping } }

    private func run() {
        var reader: Reader?
        var failures = 0
        var backoff = Duration.milliseconds(200)
        while !isStopping {
            do throws(KafkaError) {
                if reader == nil {
                    reader = try Reader(topic: topic, configuration: configuration, logger: logger)
                    logger.info(
                        "feedback ledger reading",
                        metadata: ["topic": "\(topic)", "partitions": "\(reader!.partitions.count)"])
                }
                try step(reader!)
                if failures > 0 {
                    logger.info(
                        "feedback ledger reading again",
                        metadata: ["topic": "\(topic)", "after_failures": "\(failures)"])
                    failures = 0
                    backoff = .milliseconds(200)
                }
            } catch {
                failures += 1
                logger.log(
                    level: failures == 1 ? .warning : .debug, "feedback ledger cannot read the topic; retrying",
                    metadata: [
                        "topic": "\(topic)", "error": "\(error)",
                        "retry_in_ms":
                            "\(backoff.components.seconds * 1000 + backoff.components.attoseconds / 1_000_000_000_000_000)",
                    ])
                if error.kind == .fatal || error.kind == .shutdown {
                    reader?.consumer.close()
                    reader = nil
                }
                _ = wake.wait(timeout: .now() + backoff.timeInterval)
                backoff = min(backoff * 2, .seconds(5))
            }
        }
        reader?.consumer.close()
    }

    /// One round: ask the broker for the high watermarks of new clicks, read what arrived, answer
    /// the clicks now caught up.
    private func step(_ reader: Reader) throws(KafkaError) {
        let fresh = state.withLock { s in s.waiters.filter { $0.value.targets == nil }.map(\.key) }
        if !fresh.isEmpty {
            let targets = try reader.watermarks(timeout: catchUpTimeout)
            state.withLock { s in
                for id in fresh where s.waiters[id] != nil { s.waiters[id]!.targets = targets }
            }
        }
        let waiting = state.withLock { !$0.waiters.isEmpty }
        let records = try reader.consumer.poll(max: 1000, timeout: .milliseconds(waiting ? 5 : 50))
        if !records.isEmpty {
            let sink = state.withLock { $0.sink }
            for record in records {
                reader.next[record.partition] = max(reader.next[record.partition] ?? 0, record.offset + 1)
                guard let value = record.value,
                    let feedback = try? RecordCoding.decode(FeedbackRecord.self, from: value)
                else { continue }
                sink?(feedback)
            }
            state.withLock { $0.read += records.count }
        }
        let done = state.withLock { s -> [Waiter] in
            let ready = s.waiters.filter { _, waiter in
                guard let targets = waiter.targets else { return false }
                return targets.allSatisfy { partition, mark in
                    mark.low >= mark.high || (reader.next[partition] ?? 0) >= mark.high
                }
            }
            for id in ready.keys { s.waiters.removeValue(forKey: id) }
            return Array(ready.values)
        }
        for waiter in done { waiter.answer(true) }
    }

    /// The consumer on every partition of the topic, and how far it has read each.
    private final class Reader {
        let consumer: KafkaConsumer
        let partitions: [TopicPartition]
        /// Next offset per partition (last read + 1).
        var next: [Int32: Int64] = [:]

        init(topic: String, configuration: KafkaConfiguration, logger: Logger) throws(KafkaError) {
            let consumer = try KafkaConsumer(configuration: configuration, name: "feedback-ledger", logger: logger)
            do throws(KafkaError) {
                guard let count = try consumer.partitionCount(of: topic, timeout: .seconds(5)) else {
                    throw KafkaError(kind: .retriable, message: "no topic \(topic) on the cluster yet")
                }
                partitions = (0..<count).map { TopicPartition(topic, Int32($0)) }
                try consumer.assign(Dictionary(uniqueKeysWithValues: partitions.map { ($0, KafkaOffset.beginning) }))
            } catch {
                consumer.close()
                throw error
            }
            self.consumer = consumer
        }

        /// Low and high watermark of every partition now, from the broker, within `timeout` in all.
        func watermarks(timeout: Duration) throws(KafkaError) -> [Int32: (low: Int64, high: Int64)] {
            let deadline = ContinuousClock.now + timeout
            var out: [Int32: (low: Int64, high: Int64)] = [:]
            for tp in partitions {
                let left = max(deadline - ContinuousClock.now, .milliseconds(1))
                out[tp.partition] = try consumer.watermarks(tp, timeout: left)
            }
            return out
        }
    }
}

extension Duration {
    /// Seconds as a `TimeInterval`, for Dispatch deadlines.
    var timeInterval: TimeInterval {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
