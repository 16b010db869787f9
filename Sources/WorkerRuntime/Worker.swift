import Foundation
import Kafka
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// The topics a worker reads and writes.
public struct WorkerTopology: Sendable {
    /// Input topics (full names). The first is the primary one: the group assigns its partitions,
    /// and partition p of every other input follows partition p of the primary to the same member
    /// (co-partitioned inputs such as `alerts` and `alerts-retry-1..3`), with one state per
    /// partition number.
    public var inputs: [String]
    /// Compacted changelog of the keyed state, partitioned like the primary input; nil if stateless.
    public var changelog: String?
    /// Where rejected records go with their reason.
    public var deadLetter: String
    /// Topics the processor writes to (known up front, so the producer is ready for them).
    public var outputs: [String]

    public init(inputs: [String], changelog: String?, deadLetter: String, outputs: [String] = []) {
        self.inputs = inputs
        self.changelog = changelog
        self.deadLetter = deadLetter
        self.outputs = outputs
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
/// Each assigned partition number has one `PartitionOwner` per assignment: assigned partitions
/// are paused, their state is restored outside the rebalance on a thread of its own, and they
/// resume once it is in memory (`/readyz` answers 503 meanwhile).
///
/// Conforms to `Service`: `run()` returns after a graceful stop (SIGTERM/SIGINT through a
/// `ServiceGroup`): stop fetching, finish in-flight work, commit, leave the group, flush, all
/// within one budget (`SHUTDOWN_TIMEOUT_MS`).
public final class Worker<Processor: RecordProcessor>: Service, RebalanceHandler, @unchecked Sendable {
    public typealias State = Processor.State

    private let settings: WorkerSettings
    private let topology: WorkerTopology
    private let processor: Processor
    private let logger: Logger
    private let tickInterval: Duration
    private let inputIndex: [String: UInt8]

    // Shared with other threads.
    private let stopRequested = Atomic<Bool>(false)
    /// Wall-clock ms by which the stop must be done (set with the stop request).
    private let stopDeadline = Atomic<Int64>(0)
    private let failure = Mutex<WorkerError?>(nil)
    private let statusBox = Mutex(WorkerStatus(live: true, ready: false, assigned: [], detail: "starting"))
    private let heartbeat = Atomic<Int64>(0)
    private let consumedTotal = Atomic<Int64>(0)
    private let producedTotal = Atomic<Int64>(0)
    private let flushCondition = NSCondition()
    private let restoreFinished = Atomic<Bool>(false)

    // Owned by the worker thread.
    private var consumer: KafkaConsumer?
    private var producer: KafkaProducer?
    private var sender: OutputSender?
    private var owners: [Int32: PartitionOwner<State>] = [:]
    private var nextGeneration = 1
    private var joined = false
    private var wallClock: Int64 = 0

    private let consumedCounter: Counter
    private let producedCounter: Counter
    private let deadLetterCounter: Counter
    private let commitCounter: Counter
    private let rebalanceCounter: Counter
    private let quarantineCounter: Counter
    private let skippedCounter: Counter
    private let restoreFailureCounter: Counter
    private let stateKeysGauge: Gauge
    private let restoringGauge: Gauge

    public init(settings: WorkerSettings, topology: WorkerTopology, processor: Processor, logger: Logger, tickInterval: Duration = .seconds(1)) {
        self.settings = settings
        self.topology = topology
        self.processor = processor
        self.logger = logger
        self.tickInterval = tickInterval
        self.inputIndex = Dictionary(uniqueKeysWithValues: topology.inputs.enumerated().map { ($1, UInt8($0)) })
        let dims = [("stage", settings.stage)]
        consumedCounter = Counter(label: "fleet_records_consumed_total", dimensions: dims)
        producedCounter = Counter(label: "fleet_records_produced_total", dimensions: dims)
        deadLetterCounter = Counter(label: "fleet_records_dead_lettered_total", dimensions: dims)
        commitCounter = Counter(label: "fleet_offsets_stored_total", dimensions: dims)
        rebalanceCounter = Counter(label: "fleet_rebalances_total", dimensions: dims)
        quarantineCounter = Counter(label: "fleet_state_values_quarantined_total", dimensions: dims)
        skippedCounter = Counter(label: "fleet_records_already_applied_total", dimensions: dims)
        restoreFailureCounter = Counter(label: "fleet_state_restore_failures_total", dimensions: dims)
        stateKeysGauge = Gauge(label: "fleet_state_keys", dimensions: dims)
        restoringGauge = Gauge(label: "fleet_partitions_restoring", dimensions: dims)
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

    /// Asks the loop to stop; `run()` returns once it has committed, left the group and flushed,
    /// within `SHUTDOWN_TIMEOUT_MS` of this call.
    public func requestStop() {
        if !stopRequested.exchange(true, ordering: .acquiringAndReleasing) {
            stopDeadline.store(Self.nowMilliseconds() + settings.shutdownTimeout.inMilliseconds, ordering: .releasing)
        }
        flushCondition.broadcast()
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

    // MARK: - RebalanceHandler configuration

    public func followers(of partitions: [TopicPartition]) -> [TopicPartition] {
        guard topology.inputs.count > 1 else { return [] }
        let primary = topology.inputs[0]
        return partitions.filter { $0.topic == primary }.flatMap { tp in topology.inputs.dropFirst().map { TopicPartition($0, tp.partition) } }
    }

    /// Partitions are paused lazily, at their first record during the restore (see
    /// `PartitionLifecycle.assigned()`).
    public var pausesAssignedPartitions: Bool { false }

    // MARK: - The loop (worker thread)

    private func runLoop() -> Result<Void, WorkerError> {
        do {
            let producer = try KafkaProducer(configuration: settings.producerConfiguration, name: "\(settings.stage)-producer", logger: logger)
            self.producer = producer
            sender = OutputSender(producer: producer,
                                  onDelivered: { [producedCounter, self] in producedCounter.increment(); self.producedTotal.add(1, ordering: .relaxed) },
                                  onFailure: { [self] in self.recordFailure($0) })
            consumer = try KafkaConsumer(configuration: settings.consumerConfiguration, name: "\(settings.stage)-consumer", logger: logger, rebalanceHandler: self)
            // Only the primary input is subscribed: its followers come with each of its partitions.
            try consumer!.subscribe([topology.inputs[0]])
            producer.warmUp(topics: topology.outputs + [topology.deadLetter] + (topology.changelog.map { [$0] } ?? []))
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
            wallClock = Self.nowMilliseconds()
            for record in batch { handle(record) }
            applyFinishedRestores()
            startRestores()
            let now = ContinuousClock.now
            if now >= nextTick {
                nextTick = now + tickInterval
                runTicks()
            }
            let due = now >= nextFlush
            if due { nextFlush = now + settings.commitInterval }
            driveFlushes(force: due, owners: Array(owners.values))
            storeOffsets()
        }
        return shutdown()
    }

    private func handle(_ record: ConsumedRecord) {
        consumedCounter.increment()
        consumedTotal.add(1, ordering: .relaxed)
        let tp = record.topicPartition
        // Revoked between fetch and here (its new owner reads it again), or not accepting yet.
        guard let owner = owners[record.partition] else { return }
        let arrival = owner.lifecycle.recordArrived(tp, offset: record.offset)
        guard arrival == .process else {
            if case .pause = arrival { perform([arrival], owner: owner) }
            return
        }
        let input = inputIndex[record.topic] ?? 0
        let tracker = owner.tracker
        tracker.open(tp, offset: record.offset)
        let context = owner.context
        let state = context.state
        let key = record.keyString
        if let bound = owner.catchUp[input], record.offset <= bound, let key, state.alreadyApplied(key: key, input: input, offset: record.offset) {
            // Read again after a crash: its effect is in the restored state and its outputs were
            // acknowledged before that state was written.
            skippedCounter.increment()
            tracker.release(tp, offset: record.offset)
            return
        }
        context.outputs.removeAll(keepingCapacity: true)
        context.current = record
        context.retryAt = nil
        context.wallClockMilliseconds = wallClock
        state.current = key.map { (input, record.offset, $0) }
        let writesBefore = state.writeCount
        defer { context.current = nil; state.current = nil }
        do throws(Rejection) {
            let size = (record.value?.count ?? 0) + (record.key?.count ?? 0)
            if size > settings.maxRecordBytes {
                throw Rejection(code: "too_large", reason: "record of \(size) bytes is over the limit of \(settings.maxRecordBytes) (MAX_RECORD_BYTES)")
            }
            try processor.process(record, context: context)
            if let due = context.retryAt {
                context.outputs.removeAll(keepingCapacity: true)
                tracker.abandon(tp, offset: record.offset)
                perform(owner.lifecycle.retryLater(tp, offset: record.offset, due: due), owner: owner)
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
        for output in context.outputs { send(output, owner: owner, source: (tp, record.offset)) }
        context.outputs.removeAll(keepingCapacity: true)
        if state.writeCount != writesBefore, owner.flushHolds[tp] == nil {
            tracker.hold(tp, offset: record.offset)
            owner.flushHolds[tp] = record.offset
        }
        tracker.release(tp, offset: record.offset)
    }

    private func send(_ output: OutgoingRecord, owner: PartitionOwner<State>, source: (TopicPartition, Int64)?) {
        let partition = owner.partition
        sender?.send(output, tracker: owner.tracker, epochs: owner.epochs, source: source, blocking: true) {
            source.map { "\($0.0)@\($0.1)" } ?? "timer of partition \(partition)"
        }
    }

    /// Carries out a lifecycle's actions on the consumer and the processor.
    private func perform(_ actions: [PartitionLifecycle.Action], owner: PartitionOwner<State>) {
        for action in actions {
            do {
                switch action {
                case .process, .drop, .startRestore: break
                case .pause(let tps): try consumer?.pause(tps)
                case .resume(let tps): try consumer?.resume(tps)
                case .seek(let tp, let offset): try consumer?.seek(tp, to: offset)
                case .notifyAssigned:
                    owner.context.wallClockMilliseconds = wallClock
                    processor.partitionAssigned(context: owner.context)
                case .notifyRevoked: processor.partitionRevoked(context: owner.context)
                }
            } catch {
                logger.error("partition action failed", metadata: ["partition": "\(owner.partition)", "action": "\(action)", "error": "\(error)"])
                recordFailure(.kafka(error))
            }
        }
    }

    // MARK: - Restore (outside the rebalance)

    /// Starts one restore for every owner waiting for one (new, or failed and due for a retry).
    private func startRestores() {
        let now = ContinuousClock.now
        let waiting = owners.values.filter { owner in
            owner.lifecycle.phase == .restoring && owner.restoreJob == nil
                && (owner.restoreFailedAt == nil || owner.lifecycle.shouldRetryRestore(elapsedSinceFailure: now - owner.restoreFailedAt!))
        }
        guard !waiting.isEmpty else { return }
        guard let changelog = topology.changelog else {
            // Stateless: nothing to read.
            for owner in waiting { activate(owner, with: RestoredPartition<State>()) }
            updateStatus()
            return
        }
        let job = RestoreJob<State>(partitions: waiting.map(\.partition).sorted(),
                                    generations: Dictionary(uniqueKeysWithValues: waiting.map { ($0.partition, $0.generation) }))
        for owner in waiting { owner.restoreJob = job }
        restoringGauge.record(owners.values.filter { $0.lifecycle.phase == .restoring }.count)
        setStatus(detail: "restoring state of partitions \(job.partitions)")
        job.start(changelog: changelog, configuration: settings.consumerConfiguration, logger: logger, stallTimeout: settings.restoreStallTimeout) { [self] in
            self.restoreFinished.store(true, ordering: .releasing)
        }
    }

    private func applyFinishedRestores() {
        guard restoreFinished.exchange(false, ordering: .acquiringAndReleasing) else { return }
        // Each job's result is taken once, then handed to each of its owners still of its generation.
        var results: [ObjectIdentifier: RestoreJob<State>.Result] = [:]
        for owner in owners.values {
            guard let job = owner.restoreJob else { continue }
            let id = ObjectIdentifier(job)
            if results[id] == nil, let result = job.take() { results[id] = result }
            guard let result = results[id] else { continue }
            owner.restoreJob = nil
            guard job.generations[owner.partition] == owner.generation else { continue }
            switch result {
            case .success(let restored):
                activate(owner, with: restored[owner.partition] ?? RestoredPartition())
            case .failure(let error):
                restoreFailureCounter.increment()
                _ = owner.lifecycle.restoreFailed()
                owner.restoreFailedAt = .now
                logger.error("state restore failed; the partition stays paused and is retried", metadata: [
                    "partition": "\(owner.partition)", "error": "\(error)",
                    "retry_in": "\(PartitionLifecycle.restoreBackoff(failures: owner.lifecycle.restoreFailures))",
                ])
            }
        }
        restoringGauge.record(owners.values.filter { $0.lifecycle.phase == .restoring }.count)
        updateStatus()
    }

    /// Puts restored state in place, quarantines what could not be read, and resumes.
    private func activate(_ owner: PartitionOwner<State>, with restored: RestoredPartition<State>) {
        let context = ProcessingContext(state: PartitionState(partition: owner.partition, values: restored.values, applied: restored.applied),
                                        watermark: restored.metadata.watermark,
                                        maxClockSkewMilliseconds: settings.maxClockSkew.inMilliseconds)
        context.stage = settings.stage
        context.deadLetterTopic = topology.deadLetter
        if let sender {
            let tracker = owner.tracker, epochs = owner.epochs, deferred = owner.deferred
            let stage = settings.stage, deadLetter = topology.deadLetter, inputIndex = self.inputIndex
            context.makePending = { record in
                let key = record.keyString, input = inputIndex[record.topic] ?? 0
                if let key { deferred.add(key: key, input: input, offset: record.offset) }
                return PendingRecord(record: record, sender: sender, tracker: tracker, epochs: epochs, stage: stage, deadLetterTopic: deadLetter) {
                    if let key { deferred.remove(key: key, input: input, offset: record.offset) }
                }
            }
        }
        owner.context = context
        owner.ownerEpoch = max(restored.maxEpoch + 1, Self.nowMilliseconds())
        owner.catchUp = restored.applied.values.reduce(into: [:]) { bound, offsets in
            for (input, offset) in offsets { bound[input] = max(bound[input] ?? .min, offset) }
        }
        for bad in restored.quarantined { quarantine(bad, partition: owner.partition, owner: owner) }
        perform(owner.lifecycle.restored(), owner: owner)
        logger.info("partition ready", metadata: [
            "partition": "\(owner.partition)", "generation": "\(owner.generation)", "keys": "\(restored.values.count)",
            "watermark": "\(restored.metadata.watermark.map(String.init) ?? "none")",
        ])
    }

    /// One changelog value that could not be read: the key starts from nothing, the bytes go to
    /// the dead-letter topic with the reason, and an operator sees it in the log and the metrics.
    private func quarantine(_ bad: QuarantinedValue, partition: Int32, owner: PartitionOwner<State>) {
        quarantineCounter.increment()
        logger.error("state value quarantined", metadata: [
            "partition": "\(partition)", "key": "\(bad.key)", "offset": "\(bad.offset)", "code": "\(bad.reason.code)", "reason": "\(bad.reason.reason)",
        ])
        let letter = DeadLetter.letter(topic: topology.deadLetter, key: Array(bad.key.utf8), value: bad.value,
                                       rejection: Rejection(code: "state_quarantined", reason: "changelog value not readable: \(bad.reason.reason)"),
                                       source: (settings.stage, topology.changelog ?? "", partition, bad.offset))
        send(letter, owner: owner, source: nil)
    }

    // MARK: - Timers

    private func runTicks() {
        let now = Self.nowMilliseconds()
        var keys = 0
        for p in owners.keys.sorted() {
            guard let owner = owners[p], owner.isActive else { continue }
            perform(owner.lifecycle.tick(nowMilliseconds: now), owner: owner)
            let context = owner.context
            context.outputs.removeAll(keepingCapacity: true)
            context.wallClockMilliseconds = now
            processor.tick(nowMilliseconds: now, context: context)
            for output in context.outputs { send(output, owner: owner, source: nil) }
            context.outputs.removeAll(keepingCapacity: true)
            keys += context.state.count
        }
        stateKeysGauge.record(keys)
        // Failed restores whose back-off has passed.
        startRestores()
    }

    /// Lets the processor finish what only its timers would (no tick runs during a drain).
    private func notifyDraining(_ owner: PartitionOwner<State>) {
        let context = owner.context
        context.outputs.removeAll(keepingCapacity: true)
        context.wallClockMilliseconds = Self.nowMilliseconds()
        processor.partitionDraining(context: context)
        for output in context.outputs { send(output, owner: owner, source: nil) }
        context.outputs.removeAll(keepingCapacity: true)
    }

    // MARK: - Flushes and commits

    /// Closes a flush of each owner with changes (when `force`), and writes queued flushes whose
    /// preceding outputs are all acknowledged.
    private func driveFlushes(force: Bool, owners selected: [PartitionOwner<State>]) {
        guard let changelog = topology.changelog else {
            // Stateless: nothing to write; release holds at once.
            for owner in selected {
                for (tp, offset) in owner.flushHolds { owner.tracker.release(tp, offset: offset) }
                owner.flushHolds = [:]
            }
            return
        }
        for owner in selected where owner.isActive {
            if force, owner.context.state.hasChanges || owner.context.watermarkChanged {
                closeFlush(owner, changelog: changelog)
            }
            while let flush = owner.pending.first, owner.epochs.allDone(through: flush.epoch) {
                owner.pending.removeFirst()
                write(flush, owner: owner)
            }
        }
    }

    /// Encodes the changes since the last flush into framed changelog records.
    private func closeFlush(_ owner: PartitionOwner<State>, changelog: String) {
        let context = owner.context
        var writes: [OutgoingRecord] = []
        for change in context.state.takeChanges() {
            let applied = owner.deferred.cap(change.applied, key: change.key)
            let envelope: ChangelogEnvelope
            if let value = change.value {
                let payload = value.stateBytes
                guard !payload.isEmpty else {
                    // Never write an empty value: keep the last good one in the changelog.
                    let rejection = Rejection(code: "state_not_encodable", reason: "state of key \(change.key) encoded to no bytes; not written")
                    logger.error("state value not written", metadata: ["partition": "\(owner.partition)", "key": "\(change.key)"])
                    quarantineCounter.increment()
                    send(DeadLetter.letter(topic: topology.deadLetter, key: Array(change.key.utf8), value: nil, rejection: rejection,
                                           source: (settings.stage, changelog, owner.partition, nil)), owner: owner, source: nil)
                    continue
                }
                envelope = ChangelogEnvelope(epoch: owner.ownerEpoch, applied: applied, payload: payload)
            } else {
                envelope = ChangelogEnvelope(epoch: owner.ownerEpoch, deleted: true, applied: applied, payload: [])
            }
            writes.append(OutgoingRecord(topic: changelog, partition: owner.partition, key: change.key, value: envelope.bytes))
        }
        if context.watermarkChanged {
            context.watermarkChanged = false
            let metadata = PartitionMetadata(watermark: context.watermark)
            writes.append(OutgoingRecord(topic: changelog, partition: owner.partition, key: PartitionMetadata.key,
                                         value: ChangelogEnvelope(epoch: owner.ownerEpoch, payload: metadata.bytes).bytes))
        }
        let holds = owner.flushHolds.map { ($0.key, $0.value) }
        owner.flushHolds = [:]
        owner.pending.append(PendingFlush(epoch: owner.epochs.close(), writes: writes, holds: holds))
    }

    private func write(_ flush: PendingFlush, owner: PartitionOwner<State>) {
        let tracker = owner.tracker
        guard !flush.writes.isEmpty else {
            for (tp, offset) in flush.holds { tracker.release(tp, offset: offset) }
            return
        }
        let remaining = Atomic<Int>(flush.writes.count)
        let holds = flush.holds
        for record in flush.writes {
            let describe = "changelog \(record.topic)[\(owner.partition)]"
            do {
                try producer!.send(record) { [self] result in
                    if case .failure(let error) = result {
                        self.recordFailure(.deliveryFailed(record: describe, error: error))
                        return
                    }
                    if remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
                        for (tp, offset) in holds { tracker.release(tp, offset: offset) }
                    }
                    self.flushCondition.broadcast()
                }
            } catch {
                recordFailure(.deliveryFailed(record: describe, error: error))
            }
        }
    }

    private func storeOffsets() {
        var committable: [TopicPartition: Int64] = [:]
        for owner in owners.values where owner.isActive {
            committable.merge(owner.tracker.takeCommittable()) { $1 }
        }
        guard !committable.isEmpty else { return }
        do {
            try consumer?.storeOffsets(committable)
            commitCounter.increment(by: committable.count)
        } catch {
            logger.warning("store offsets failed", metadata: ["error": "\(error)"])
        }
    }

    /// Drives the owners' flushes until nothing of theirs is open, or the deadline (wall ms) passes.
    private func drain(_ selected: [PartitionOwner<State>], deadline: Int64) -> Bool {
        for owner in selected where owner.isActive { notifyDraining(owner) }
        driveFlushes(force: true, owners: selected)
        while true {
            driveFlushes(force: false, owners: selected)
            if selected.allSatisfy({ $0.tracker.openCount() == 0 && $0.pending.isEmpty }) { return true }
            if failure.withLock({ $0 }) != nil || Self.nowMilliseconds() >= deadline { return false }
            flushCondition.lock()
            _ = flushCondition.wait(until: Date(timeIntervalSinceNow: 0.01))
            flushCondition.unlock()
        }
    }

    /// The deadline of work done now: the stop budget's end when stopping, else one budget from now.
    private var workDeadline: Int64 {
        stopRequested.load(ordering: .acquiring) ? stopDeadline.load(ordering: .acquiring)
            : Self.nowMilliseconds() + settings.shutdownTimeout.inMilliseconds
    }

    private func shutdown() -> Result<Void, WorkerError> {
        if !stopRequested.load(ordering: .acquiring) { requestStop() } // stopping on an error: same budget
        let deadline = stopDeadline.load(ordering: .acquiring)
        setStatus(ready: false, detail: "stopping")
        for owner in owners.values { owner.restoreJob?.cancel() }
        // The drain gets the budget less a reserve for leaving the group and flushing.
        let reserve = min(settings.shutdownTimeout.inMilliseconds / 5, 5_000)
        let active = owners.values.filter(\.isActive)
        let drained = failure.withLock({ $0 }) == nil ? drain(Array(active), deadline: deadline - reserve) : false
        if !drained { logger.warning("stopping with records still in flight; they will be read again") }
        storeOffsets()
        do { try consumer?.commit() } catch { logger.warning("final commit failed", metadata: ["error": "\(error)"]) }
        consumer?.close() // leaves the group; the final revoke finds nothing left to do
        consumer = nil
        let left = max(deadline - Self.nowMilliseconds(), 500)
        producer?.shutdownBlocking(timeout: .milliseconds(left))
        producer = nil
        sender = nil
        owners.removeAll()
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

    private func updateStatus() {
        let restoring = owners.values.filter { $0.lifecycle.phase == .restoring }.map(\.partition).sorted()
        setStatus(detail: restoring.isEmpty ? "processing \(owners.count) partitions" : "restoring state of partitions \(restoring)")
    }

    private func setStatus(ready: Bool? = nil, detail: String) {
        let assignedNow = owners.values.flatMap(\.topicPartitions).sorted()
        let restoring = owners.values.contains { $0.lifecycle.phase == .restoring }
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
        for (p, group) in Dictionary(grouping: tps, by: \.partition) where owners[p] == nil {
            let owner = PartitionOwner<State>(generation: nextGeneration, partition: p, partitions: group,
                                              maxClockSkewMilliseconds: settings.maxClockSkew.inMilliseconds)
            nextGeneration += 1
            owners[p] = owner
        }
        // Restores start from the loop, after the consumer has assigned and paused these.
        updateStatus()
    }

    public func partitionsRevoked(_ tps: [TopicPartition], by consumer: KafkaConsumer) {
        rebalanceCounter.increment()
        let leaving = Set(tps.map(\.partition)).compactMap { owners[$0] }
        for owner in leaving { owner.restoreJob?.cancel() }
        let active = leaving.filter(\.isActive)
        if !active.isEmpty {
            let drained = drain(active, deadline: workDeadline)
            if !drained { logger.warning("revoking with records in flight; the new owner reads them again", metadata: ["partitions": "\(tps)"]) }
            storeOffsets()
            var committable: [TopicPartition: Int64] = [:]
            for owner in active { committable.merge(owner.tracker.committable(owner.topicPartitions)) { $1 } }
            do { try consumer.commit(committable) } catch { logger.warning("commit on revoke failed", metadata: ["error": "\(error)"]) }
        }
        for owner in leaving { give(owner) }
        updateStatus()
    }

    public func partitionsLost(_ tps: [TopicPartition], by consumer: KafkaConsumer) {
        rebalanceCounter.increment()
        for owner in Set(tps.map(\.partition)).compactMap({ owners[$0] }) {
            owner.restoreJob?.cancel()
            give(owner)
        }
        updateStatus()
    }

    private func give(_ owner: PartitionOwner<State>) {
        perform(owner.lifecycle.gone(), owner: owner)
        owners[owner.partition] = nil
    }
}
