import BlockingWork
import Dispatch
import Foundation
import Kafka
import Logging
import Synchronization

/// A background reader of a whole topic kept as a table by every replica of a stage (a global
/// table): the dispatcher's links already used (`alert-feedback`), the scorers' population
/// (`ingest-scorer-population`).
///
/// - It reads every partition of the topic from the start of what the topic holds (no consumer
///   group, nothing committed), on a thread of its own (never the cooperative pool, never an HTTP
///   event loop), and hands each record to the sink given to `start`, on that thread.
/// - `whenCaughtUp` is the barrier a reader of the table passes first: the follower asks the broker
///   for each partition's high watermark as of the call, and answers `true` once it has read (and
///   fed to the sink) everything below them, `false` when that did not happen within
///   `catchUpTimeout` (the broker down, the follower still loading). The answer comes on the
///   follower's thread or, on time-out, on a dispatch queue; never on the caller's. With
///   `absentTopicIsEmpty`, a topic the cluster does not have (yet) is an empty table: the barrier
///   answers `true` (nothing was ever written to it); without, it waits as for an outage.
/// - The broker may be down at start or at any time: the follower retries with a growing back-off
///   (up to 5 s), logging the first failure as a warning and the rest at debug, and the recovery.
/// - `stop` ends the thread, frees the librdkafka handle and answers waiting barriers `false`.
public final class TopicFollower: Sendable {
    /// Receives every record read, on the follower's thread.
    public typealias Sink = @Sendable (ConsumedRecord) -> Void

    /// The topic read (with its prefix).
    public let topic: String
    /// What logs and the thread call this follower ("feedback ledger").
    public let name: String
    /// Longest wait of one barrier for the follower to catch up.
    public let catchUpTimeout: Duration
    /// Whether a topic the cluster does not have counts as an empty table.
    public let absentTopicIsEmpty: Bool
    private let configuration: KafkaConfiguration
    private let logger: Logger
    private let state = Mutex(State())
    private let finished = DispatchSemaphore(value: 0)
    /// Signalled by `stop` to cut a back-off short.
    private let wake = DispatchSemaphore(value: 0)

    private struct Waiter {
        var answer: @Sendable (Bool) -> Void
        /// High watermark per partition as of the call; nil until the follower asked the broker.
        var targets: [Int32: (low: Int64, high: Int64)]?
    }

    private struct State {
        var sink: Sink?
        var started = false
        var stopping = false
        /// The cluster answered that it has no such topic (and the follower counts that as empty).
        var absent = false
        var nextId = 0
        var waiters: [Int: Waiter] = [:]
        /// Records read since the start (for tests and logs).
        var read = 0
    }

    /// A follower of `topic` read with `configuration` (the worker's Kafka settings; any group id
    /// is dropped).
    public init(
        topic: String, name: String, configuration: KafkaConfiguration, logger: Logger,
        catchUpTimeout: Duration = .seconds(2), absentTopicIsEmpty: Bool = false
    ) {
        var config = configuration
        config["group.id"] = nil
        config["enable.auto.commit"] = "false"
        config["enable.auto.offset.store"] = "false"
        config["auto.offset.reset"] = "earliest"
        self.topic = topic
        self.name = name
        self.configuration = config
        self.logger = logger
        self.catchUpTimeout = catchUpTimeout
        self.absentTopicIsEmpty = absentTopicIsEmpty
    }

    /// Starts the follower's thread, feeding every record to `sink`. Once only (later calls do
    /// nothing).
    public func start(feeding sink: @escaping Sink) {
        let go = state.withLock { s -> Bool in
            guard !s.started, !s.stopping else { return false }
            s.started = true
            s.sink = sink
            return true
        }
        guard go else { return }
        BlockingThread.start(name: name.replacingOccurrences(of: " ", with: "-")) { [self] in
            run()
            finished.signal()
        }
    }

    /// Stops the follower, frees its Kafka handle and answers every waiting barrier `false`.
    /// Blocking (up to the follower's current broker call); call once, off the cooperative pool.
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

    /// Calls `answer` once: `true` when the follower has read everything the topic held at this
    /// call, `false` when that did not happen within `catchUpTimeout` or the follower is stopping.
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

    /// `whenCaughtUp`, waited for: blocks the calling thread (never call it on the cooperative pool
    /// or an event loop) for at most `catchUpTimeout`.
    public func waitCaughtUp() -> Bool {
        let answered = DispatchSemaphore(value: 0)
        let result = Atomic<Bool>(false)
        whenCaughtUp { ready in
            result.store(ready, ordering: .releasing)
            answered.signal()
        }
        answered.wait()
        return result.load(ordering: .acquiring)
    }

    // MARK: - The follower's thread

    private var isStopping: Bool { state.withLock { $0.stopping } }

    private func run() {
        var reader: Reader?
        var failures = 0
        var backoff = Duration.milliseconds(200)
        while !isStopping {
            do throws(KafkaError) {
                if reader == nil {
                    let opened = try Reader(topic: topic, name: name, configuration: configuration, logger: logger)
                    guard let opened else {
                        try noTopic()
                        continue
                    }
                    reader = opened
                    logger.info(
                        "\(name) reading",
                        metadata: ["topic": "\(topic)", "partitions": "\(reader!.partitions.count)"])
                    state.withLock { $0.absent = false }
                }
                try step(reader!)
                if failures > 0 {
                    logger.info(
                        "\(name) reading again", metadata: ["topic": "\(topic)", "after_failures": "\(failures)"])
                    failures = 0
                    backoff = .milliseconds(200)
                }
            } catch {
                failures += 1
                logger.log(
                    level: failures == 1 ? .warning : .debug, "\(name) cannot read the topic; retrying",
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

    /// The cluster has no such topic (yet): with `absentTopicIsEmpty` every waiting barrier is
    /// answered `true` (an empty table); without, it is a failure like an outage. Looks again soon.
    private func noTopic() throws(KafkaError) {
        guard absentTopicIsEmpty else {
            throw KafkaError(kind: .retriable, message: "no topic \(topic) on the cluster yet")
        }
        let waiting = state.withLock { s -> [Waiter] in
            s.absent = true
            let all = Array(s.waiters.values)
            s.waiters = [:]
            return all
        }
        for waiter in waiting { waiter.answer(true) }
        _ = wake.wait(timeout: .now() + 1)
    }

    /// One round: ask the broker for the high watermarks of new barriers, read what arrived, answer
    /// the barriers now caught up.
    private func step(_ reader: Reader) throws(KafkaError) {
        let fresh = state.withLock { s in s.waiters.filter { $0.value.targets == nil }.map(\.key) }
        if !fresh.isEmpty {
            // The broker call is bounded on its own: a long barrier (a standby's warm-up) must not
            // keep `stop` waiting for it.
            let targets = try reader.watermarks(timeout: min(catchUpTimeout, .seconds(5)))
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
                sink?(record)
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

        /// Nil when the cluster has no such topic.
        init?(topic: String, name: String, configuration: KafkaConfiguration, logger: Logger) throws(KafkaError) {
            let consumer = try KafkaConsumer(
                configuration: configuration, name: name.replacingOccurrences(of: " ", with: "-"), logger: logger)
            do throws(KafkaError) {
                guard let count = try consumer.partitionCount(of: topic, timeout: .seconds(5)) else {
                    consumer.close()
                    return nil
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
    public var timeInterval: TimeInterval {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
