import Foundation
import Kafka
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// The topics a worker reads and writes.
public struct WorkerTopology: Sendable {
    /// Input topics (full names). The first is the primary one: state and ticks follow its partitions.
    public var inputs: [String]
    /// Compacted changelog of the keyed state, partitioned like the primary input; nil if stateless.
    public var changelog: String?
    /// Where rejected records go with their reason.
    public var deadLetter: String

    public init(inputs: [String], changelog: String?, deadLetter: String) {
        self.inputs = inputs
        self.changelog = changelog
        self.deadLetter = deadLetter
    }
}

/// What `/healthz` and `/readyz` report.
public struct WorkerStatus: Sendable {
    /// The loop is turning and no fatal error happened.
    public var live: Bool
    /// Joined the group, every assigned partition's state restored, not stopping.
    public var ready: Bool
    public var assigned: [TopicPartition]
    public var detail: String
}

/// The consume -> process -> produce -> commit loop shared by the three stages.
///
/// One dedicated thread polls the consumer, runs the processor, and produces its outputs; it never
/// runs on Swift's cooperative pool. A record's offset is stored only after all it caused is
/// acknowledged: its outputs, its dead letter, and the changelog write of the state it changed.
/// State is written coalesced, once per commit interval, and only after every output emitted
/// before it is acknowledged, so a crash can repeat an output but never lose one.
///
/// Conforms to `Service`: `run()` returns after a graceful stop (SIGTERM/SIGINT through a
/// `ServiceGroup`): stop fetching, finish in-flight work, flush, commit, leave the group.
public final class Worker<Processor: RecordProcessor>: Service, RebalanceHandler, @unchecked Sendable {
    public typealias State = Processor.State

    private let settings: WorkerSettings
    private let topology: WorkerTopology
    private let processor: Processor
    private let logger: Logger
    private let tickInterval: Duration
    private let tracker = OffsetTracker()

    // Shared with other threads.
    private let stopRequested = Atomic<Bool>(false)
    private let failure = Mutex<WorkerError?>(nil)
    private let statusBox = Mutex(WorkerStatus(live: true, ready: false, assigned: [], detail: "starting"))
    private let heartbeat = Atomic<Int64>(0)
    private let consumedTotal = Atomic<Int64>(0)
    private let producedTotal = Atomic<Int64>(0)
    private let flushCondition = NSCondition()

    // Owned by the worker thread.
    private var consumer: KafkaConsumer?
    private var producer: KafkaProducer?
    private var sender: OutputSender?
    /// Partitions paused by `ProcessingContext.retryLater`, with the wall-clock time to resume.
    private var pausedUntil: [TopicPartition: Int64] = [:]
    private var partitions: [Int32: PartitionRuntime<State>] = [:]
    private var assigned: Set<TopicPartition> = []
    private var joined = false
    private var restoring = false

    private let consumedCounter: Counter
    private let producedCounter: Counter
    private let deadLetterCounter: Counter
    private let commitCounter: Counter
    private let rebalanceCounter: Counter
    private let stateKeysGauge: Gauge

    public init(settings: WorkerSettings, topology: WorkerTopology, processor: Processor, logger: Logger, tickInterval: Duration = .seconds(1)) {
        self.settings = settings
        self.topology = topology
        self.processor = processor
        self.logger = logger
        self.tickInterval = tickInterval
        let dims = [("stage", settings.stage)]
        consumedCounter = Counter(label: "fleet_records_consumed_total", dimensions: dims)
        producedCounter = Counter(label: "fleet_records_produced_total", dimensions: dims)
        deadLetterCounter = Counter(label: "fleet_records_dead_lettered_total", dimensions: dims)
        commitCounter = Counter(label: "fleet_offsets_stored_total", dimensions: dims)
        rebalanceCounter = Counter(label: "fleet_rebalances_total", dimensions: dims)
        stateKeysGauge = Gauge(label: "fleet_state_keys", dimensions: dims)
    }

    /// Health as reported by the HTTP endpoints.
    public var status: WorkerStatus {
        var s = statusBox.withLock { $0 }
        let beat = heartbeat.load(ordering: .relaxed)
        if beat > 0, Self.nowMilliseconds() - beat > 30_000 { s.live = false; s.detail = "worker loop stalled" }
        if let f = failure.withLock({ $0 }) { s.live = false; s.ready = false; s.detail = "\(f)" }
        return s
    }

    /// Records consumed and outputs acknowledged since start (for benchmarks and tests).
    public var progress: (consumed: Int64, produced: Int64) {
        (consumedTotal.load(ordering: .relaxed), producedTotal.load(ordering: .relaxed))
    }

    /// Asks the loop to stop; `run()` returns once it has committed and left the group.
    public func requestStop() {
        stopRequested.store(true, ordering: .releasing)
    }

    public func run() async throws {
        let result: Result<Void, WorkerError> = await withTaskCancellationOrGracefulShutdownHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<Void, WorkerError>, Never>) in
                let thread = Thread { [self] in
                    continuation.resume(returning: self.runLoop())
                }
                thread.name = "worker-\(settings.stage)"
                thread.start()
            }
        } onCancelOrGracefulShutdown: { [self] in
            logger.info("stop requested", metadata: ["stage": "\(settings.stage)"])
            self.requestStop()
        }
        try result.get()
    }

    // MARK: - The loop (worker thread)

    private func runLoop() -> Result<Void, WorkerError> {
        do {
            let producer = try KafkaProducer(configuration: settings.producerConfiguration, name: "\(settings.stage)-producer", logger: logger)
            self.producer = producer
            sender = OutputSender(producer: producer, tracker: tracker,
                                  onDelivered: { [producedCounter, self] in producedCounter.increment(); self.producedTotal.add(1, ordering: .relaxed) },
                                  onFailure: { [self] in self.recordFailure($0) })
            consumer = try KafkaConsumer(configuration: settings.consumerConfiguration, name: "\(settings.stage)-consumer", logger: logger, rebalanceHandler: self)
            try consumer!.subscribe(topology.inputs)
        } catch {
            setStatus(detail: "failed to start: \(error)")
            // The consumer holds this worker as its rebalance handler: without closing it here the
            // two keep each other alive, with both librdkafka handles and the producer's poll thread.
            consumer?.close()
            consumer = nil
            producer?.shutdownBlocking(timeout: settings.shutdownTimeout)
            producer = nil
            return .failure(.kafka(error))
        }
        setStatus(detail: "joining group \(settings.groupId)")
        logger.info("worker started", metadata: ["stage": "\(settings.stage)", "inputs": "\(topology.inputs)", "group": "\(settings.groupId)"])
        var nextTick = ContinuousClock.now + tickInterval
        var nextFlush = ContinuousClock.now + settings.commitInterval
        while !stopRequested.load(ordering: .acquiring), failure.withLock({ $0 }) == nil {
            heartbeat.store(Self.nowMilliseconds(), ordering: .relaxed)
            let batch: [ConsumedRecord]
            do {
                batch = try consumer!.poll(max: 1000, timeout: .milliseconds(100))
            } catch {
                if error.isFatal || error.kind == .shutdown { recordFailure(.kafka(error)); break }
                logger.warning("poll failed", metadata: ["error": "\(error)"])
                continue
            }
            for record in batch { handle(record) }
            resumeDuePartitions()
            let now = ContinuousClock.now
            if now >= nextTick {
                nextTick = now + tickInterval
                runTicks()
            }
            let due = now >= nextFlush
            if due { nextFlush = now + settings.commitInterval }
            driveFlushes(force: due)
            storeOffsets()
        }
        return shutdown()
    }

    private func handle(_ record: ConsumedRecord) {
        consumedCounter.increment()
        consumedTotal.add(1, ordering: .relaxed)
        let tp = record.topicPartition
        guard let runtime = partitions[record.partition] else {
            // Revoked between fetch and here: its new owner reads it again.
            return
        }
        // Fetched before its partition was paused: it is read again on resume.
        if pausedUntil[tp] != nil { return }
        tracker.open(tp, offset: record.offset)
        let context = runtime.context
        context.outputs.removeAll(keepingCapacity: true)
        context.current = record
        context.retryAt = nil
        defer { context.current = nil }
        do throws(Rejection) {
            try processor.process(record, context: context)
            if let due = context.retryAt {
                context.outputs.removeAll(keepingCapacity: true)
                pause(tp, at: record.offset, until: due)
                return
            }
        } catch {
            context.outputs.removeAll(keepingCapacity: true)
            context.outputs.append(DeadLetter.record(for: record, rejection: error, stage: settings.stage, topic: topology.deadLetter))
            deadLetterCounter.increment()
            logger.notice("record dead-lettered", metadata: [
                "topic": "\(record.topic)", "partition": "\(record.partition)", "offset": "\(record.offset)",
                "code": "\(error.code)", "reason": "\(error.reason)",
            ])
        }
        for output in context.outputs { send(output, runtime: runtime, source: (tp, record.offset)) }
        context.outputs.removeAll(keepingCapacity: true)
        if runtime.context.state.hasChanges, runtime.flushHold == nil {
            tracker.hold(tp, offset: record.offset)
            runtime.flushHold = (tp, record.offset)
        }
        tracker.release(tp, offset: record.offset)
    }

    private func send(_ output: OutgoingRecord, runtime: PartitionRuntime<State>, source: (TopicPartition, Int64)?) {
        let partition = runtime.context.partition
        sender?.send(output, epochs: runtime.epochs, source: source) {
            source.map { "\($0.0)@\($0.1)" } ?? "tick of partition \(partition)"
        }
    }

    /// Pauses a partition and rewinds it to `offset`, so that record is delivered again once the
    /// partition resumes at `due` (wall clock, ms). Nothing is committed past it meanwhile.
    private func pause(_ tp: TopicPartition, at offset: Int64, until due: Int64) {
        tracker.abandon(tp, offset: offset)
        pausedUntil[tp] = due
        do {
            try consumer?.pause([tp])
            try consumer?.seek(tp, to: offset)
        } catch {
            logger.error("pause for retry failed", metadata: ["partition": "\(tp)", "error": "\(error)"])
            recordFailure(.kafka(error))
        }
    }

    private func resumeDuePartitions() {
        guard !pausedUntil.isEmpty else { return }
        let now = Self.nowMilliseconds()
        let due = pausedUntil.filter { $0.value <= now }.map(\.key)
        guard !due.isEmpty else { return }
        for tp in due { pausedUntil[tp] = nil }
        do { try consumer?.resume(due) } catch { logger.warning("resume failed", metadata: ["error": "\(error)"]) }
    }

    private func runTicks() {
        let now = Self.nowMilliseconds()
        for p in partitions.keys.sorted() {
            guard let runtime = partitions[p] else { continue }
            let context = runtime.context
            context.outputs.removeAll(keepingCapacity: true)
            processor.tick(nowMilliseconds: now, context: context)
            for output in context.outputs { send(output, runtime: runtime, source: nil) }
            context.outputs.removeAll(keepingCapacity: true)
        }
        stateKeysGauge.record(partitions.values.reduce(0) { $0 + $1.context.state.count })
    }

    /// Closes a flush of each partition with changes (when `force`), and writes queued flushes
    /// whose preceding outputs are all acknowledged.
    private func driveFlushes(force: Bool, only: Set<Int32>? = nil) {
        guard let changelog = topology.changelog else {
            // Stateless: nothing to write; release holds at once.
            for runtime in partitions.values where only == nil || only!.contains(runtime.context.partition) {
                if let (tp, offset) = runtime.flushHold { runtime.flushHold = nil; tracker.release(tp, offset: offset) }
            }
            return
        }
        for (p, runtime) in partitions where only == nil || only!.contains(p) {
            if force, runtime.context.state.hasChanges {
                let changes = runtime.context.state.takeChanges()
                runtime.pending.append(PendingFlush(epoch: runtime.epochs.close(), changes: changes, hold: runtime.flushHold))
                runtime.flushHold = nil
            }
            while let flush = runtime.pending.first, runtime.epochs.allDone(through: flush.epoch) {
                runtime.pending.removeFirst()
                let remaining = Atomic<Int>(flush.changes.count)
                let hold = flush.hold
                for (key, value) in flush.changes {
                    let record = OutgoingRecord(topic: changelog, partition: p, key: key, value: value)
                    do {
                        try producer!.send(record) { [self, tracker] result in
                            if case .failure(let error) = result {
                                self.recordFailure(.deliveryFailed(record: "changelog \(changelog)[\(p)] key \(key)", error: error))
                                return
                            }
                            if remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0, let (tp, offset) = hold {
                                tracker.release(tp, offset: offset)
                            }
                            self.flushCondition.broadcast()
                        }
                    } catch {
                        recordFailure(.deliveryFailed(record: "changelog \(changelog)[\(p)] key \(key)", error: error))
                    }
                }
            }
        }
    }

    private func storeOffsets() {
        let committable = tracker.takeCommittable()
        guard !committable.isEmpty else { return }
        do {
            try consumer?.storeOffsets(committable)
            commitCounter.increment(by: committable.count)
        } catch {
            logger.warning("store offsets failed", metadata: ["error": "\(error)"])
        }
    }

    /// Drives flushes until nothing is open on `tps` (or the timeout passes).
    private func drain(_ tps: [TopicPartition]?, indices: Set<Int32>?) -> Bool {
        let deadline = ContinuousClock.now + settings.shutdownTimeout
        driveFlushes(force: true, only: indices)
        while true {
            driveFlushes(force: false, only: indices)
            let pending = partitions.filter { indices == nil || indices!.contains($0.key) }.contains { !$0.value.pending.isEmpty }
            if tracker.openCount(tps) == 0, !pending { return true }
            if failure.withLock({ $0 }) != nil || ContinuousClock.now >= deadline { return false }
            flushCondition.lock()
            _ = flushCondition.wait(until: Date(timeIntervalSinceNow: 0.01))
            flushCondition.unlock()
        }
    }

    private func shutdown() -> Result<Void, WorkerError> {
        setStatus(ready: false, detail: "stopping")
        let drained = failure.withLock({ $0 }) == nil ? drain(nil, indices: nil) : false
        if !drained { logger.warning("stopping with records still in flight; they will be read again") }
        storeOffsets()
        do { try consumer?.commit() } catch { logger.warning("final commit failed", metadata: ["error": "\(error)"]) }
        consumer?.close() // leaves the group; the final revoke finds nothing left to do
        consumer = nil
        producer?.shutdownBlocking(timeout: settings.shutdownTimeout)
        producer = nil
        sender = nil
        partitions.removeAll()
        if let error = failure.withLock({ $0 }) {
            logger.error("worker stopped on error", metadata: ["error": "\(error)"])
            return .failure(error)
        }
        logger.info("worker stopped", metadata: ["stage": "\(settings.stage)"])
        return .success(())
    }

    private func recordFailure(_ error: WorkerError) {
        failure.withLock { if $0 == nil { $0 = error } }
        flushCondition.broadcast()
    }

    private func setStatus(ready: Bool? = nil, detail: String) {
        let assignedNow = assigned.sorted()
        let isReady = ready ?? (joined && !restoring && !stopRequested.load(ordering: .relaxed))
        statusBox.withLock { $0 = WorkerStatus(live: true, ready: isReady, assigned: assignedNow, detail: detail) }
    }

    static func nowMilliseconds() -> Int64 {
        Int64(Date().timeIntervalSince1970 * 1000)
    }

    // MARK: - Rebalances (called on the worker thread, inside poll)

    public func partitionsAssigned(_ tps: [TopicPartition], by consumer: KafkaConsumer) {
        rebalanceCounter.increment()
        joined = true
        assigned.formUnion(tps)
        let newIndices = Set(tps.map(\.partition)).filter { partitions[$0] == nil }.sorted()
        if !newIndices.isEmpty {
            restoring = true
            setStatus(detail: "restoring state of partitions \(newIndices)")
            var restored: [Int32: [String: State]] = [:]
            if let changelog = topology.changelog {
                do {
                    restored = try StateRestorer.restore(State.self, changelog: changelog, partitions: newIndices,
                                                         configuration: settings.consumerConfiguration, logger: logger, timeout: settings.shutdownTimeout)
                } catch {
                    recordFailure(error)
                }
            }
            for p in newIndices {
                let runtime = PartitionRuntime(state: PartitionState(partition: p, values: restored[p] ?? [:]))
                if let sender {
                    let epochs = runtime.epochs, stage = settings.stage, deadLetter = topology.deadLetter
                    runtime.context.makePending = { record in
                        PendingRecord(record: record, sender: sender, epochs: epochs, stage: stage, deadLetterTopic: deadLetter)
                    }
                }
                partitions[p] = runtime
            }
            restoring = false
        }
        setStatus(detail: "processing \(assigned.count) partitions")
    }

    public func partitionsRevoked(_ tps: [TopicPartition], by consumer: KafkaConsumer) {
        rebalanceCounter.increment()
        assigned.subtract(tps)
        let leaving = Set(tps.map(\.partition)).filter { p in !assigned.contains { $0.partition == p } }
        let drained = drain(tps, indices: leaving)
        if !drained { logger.warning("revoking with records in flight; the new owner reads them again", metadata: ["partitions": "\(tps)"]) }
        storeOffsets()
        let committable = tracker.committable(tps)
        do { try consumer.commit(committable) } catch { logger.warning("commit on revoke failed", metadata: ["error": "\(error)"]) }
        tracker.drop(tps)
        for tp in tps { pausedUntil[tp] = nil }
        for p in leaving { partitions[p] = nil }
        setStatus(detail: "processing \(assigned.count) partitions")
    }

    public func partitionsLost(_ tps: [TopicPartition], by consumer: KafkaConsumer) {
        rebalanceCounter.increment()
        assigned.subtract(tps)
        tracker.drop(tps)
        for tp in tps { pausedUntil[tp] = nil }
        for p in Set(tps.map(\.partition)) where !assigned.contains(where: { $0.partition == p }) { partitions[p] = nil }
        setStatus(detail: "partitions lost: \(tps)")
    }
}

/// One partition's state and flush bookkeeping, owned by the worker thread (the epoch counters
/// are also touched by delivery callbacks).
final class PartitionRuntime<State: StateValue>: @unchecked Sendable {
    let context: ProcessingContext<State>
    let epochs = EpochCounter()
    var pending: [PendingFlush] = []
    /// The first record that changed state since the last flush closed; its commit waits for the flush.
    var flushHold: (TopicPartition, Int64)?

    init(state: PartitionState<State>) {
        self.context = ProcessingContext(state: state)
    }
}

struct PendingFlush {
    var epoch: Int
    var changes: [(String, [UInt8]?)]
    var hold: (TopicPartition, Int64)?
}

/// Outputs in flight per epoch. A flush closes the current epoch; its changelog writes go out
/// only when every output of that epoch and the ones before is acknowledged.
final class EpochCounter: @unchecked Sendable {
    /// In-flight counts of epochs `base...current`, oldest first.
    private struct Counts { var base = 0; var current = 0; var inFlight: [Int] = [0] }
    private let counts = Mutex(Counts())

    func begin() -> Int {
        counts.withLock { c in c.inFlight[c.current - c.base] += 1; return c.current }
    }

    func end(_ epoch: Int) {
        counts.withLock { c in
            let i = epoch - c.base
            guard i >= 0, i < c.inFlight.count, c.inFlight[i] > 0 else { return }
            c.inFlight[i] -= 1
            // Forget finished epochs at the front.
            while c.inFlight.count > 1, c.inFlight[0] == 0 { c.inFlight.removeFirst(); c.base += 1 }
        }
    }

    /// Closes the current epoch and returns it.
    func close() -> Int {
        counts.withLock { c in
            c.current += 1
            c.inFlight.append(0)
            while c.inFlight.count > 1, c.inFlight[0] == 0 { c.inFlight.removeFirst(); c.base += 1 }
            return c.current - 1
        }
    }

    func allDone(through epoch: Int) -> Bool {
        counts.withLock { c in
            let last = min(epoch - c.base, c.inFlight.count - 1)
            guard last >= 0 else { return true }
            return c.inFlight[0...last].allSatisfy { $0 == 0 }
        }
    }
}
