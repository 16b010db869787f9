import BlockingWork
import Contracts
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
// @unchecked: the loop state is owned by the worker thread; fields other threads touch are atomics or mutexes.
public final class Worker<Processor: RecordProcessor>: Service, RebalanceHandler, @unchecked Sendable {
    public typealias State = Processor.State

    let settings: WorkerSettings
    let topology: WorkerTopology
    let processor: Processor
    let logger: Logger
    let tickInterval: Duration
    /// Where wall time is read (record times, epochs, timers); durations use `monotonicMilliseconds()`.
    let clock: WallClock
    let inputIndex: [String: UInt8]

    // Shared with other threads.
    let stopRequested = Atomic<Bool>(false)
    /// Monotonic ms (`monotonicMilliseconds()`) by which the stop must be done (set with the stop request).
    let stopDeadline = Atomic<Int64>(0)
    let failure = Mutex<WorkerError?>(nil)
    let statusBox = Mutex(WorkerStatus(live: true, ready: false, assigned: [], detail: "starting"))
    /// Monotonic ms of the loop's last turn (0: not started).
    let heartbeat = Atomic<Int64>(0)
    let consumedTotal = Atomic<Int64>(0)
    let producedTotal = Atomic<Int64>(0)
    let flushCondition = NSCondition()
    let restoreFinished = Atomic<Bool>(false)
    let restoreLog = Mutex<[RestoreReport]>([])
    let standbyWarm = Mutex<(keys: Int, records: Int, duration: Duration)?>(nil)

    // Owned by the worker thread.
    var consumer: KafkaConsumer?
    var producer: KafkaProducer?
    /// Warm copies of the changelog's partitions (`STANDBY_REPLICAS=all`), nil without.
    var standby: StandbyReplicas<State>?
    var sender: OutputSender?
    var owners: [Int32: PartitionOwner<State>] = [:]
    var nextGeneration = 1
    var joined = false
    var wallClock: Int64 = 0
    /// Input partitions whose lag gauge was set (zeroed when they go away).
    var lagReported: Set<TopicPartition> = []
    /// Topic-partitions whose `fleet_partition_paused_until_seconds` was last set above 0.
    var pausesReported: Set<TopicPartition> = []
    /// The last lag figures, for `consumerLag`.
    let lagSnapshot = Mutex<[TopicPartition: Int64]>([:])

    let consumedCounter: Counter
    let producedCounter: Counter
    let deadLetterCounter: Counter
    let commitCounter: Counter
    let rebalanceCounter: Counter
    let quarantineCounter: Counter
    let skippedCounter: Counter
    let restoreFailureCounter: Counter
    let stateKeysGauge: Gauge
    let restoringGauge: Gauge
    let standbyKeysGauge: Gauge

    public init(
        settings: WorkerSettings, topology: WorkerTopology, processor: Processor, logger: Logger,
        tickInterval: Duration = .seconds(1), clock: WallClock = .system
    ) {
        self.settings = settings
        self.clock = clock
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
        standbyKeysGauge = Gauge(label: "fleet_standby_keys", dimensions: dims)
    }

    /// Health as reported by the HTTP endpoints.
    public var status: WorkerStatus {
        var s = statusBox.withLock { $0 }
        let beat = heartbeat.load(ordering: .relaxed)
        if beat > 0, Self.monotonicMilliseconds() - beat > 30_000 {
            s.live = false
            s.detail = "worker loop stalled"
        }
        if let f = failure.withLock({ $0 }) {
            s.live = false
            s.ready = false
            s.detail = "\(f)"
        }
        return s
    }

    /// Records consumed and outputs acknowledged since start (for benchmarks and tests).
    public var progress: (consumed: Int64, produced: Int64) {
        (consumedTotal.load(ordering: .relaxed), producedTotal.load(ordering: .relaxed))
    }

    /// The last 64 restores applied, oldest first (for benchmarks and tests): what each read and
    /// how long it took.
    public var restoreReports: [RestoreReport] { restoreLog.withLock { $0 } }

    /// With `STANDBY_REPLICAS=all`, once the copies were warm at start (for benchmarks and tests): the
    /// keys they held, the changelog records read, and the time from the worker's start.
    public var standbyWarmUp: (keys: Int, records: Int, duration: Duration)? { standbyWarm.withLock { $0 } }

    /// Asks the loop to stop; `run()` returns once it has committed, left the group and flushed,
    /// within `SHUTDOWN_TIMEOUT_MS` of this call.
    public func requestStop() {
        if !stopRequested.exchange(true, ordering: .acquiringAndReleasing) {
            stopDeadline.store(
                Self.monotonicMilliseconds() + settings.shutdownTimeout.inMilliseconds, ordering: .releasing)
        }
        flushCondition.broadcast()
    }

    public func run() async throws {
        let result: Result<Void, WorkerError> = await withTaskCancellationOrGracefulShutdownHandler {
            await BlockingThread.run(name: "worker-\(settings.stage)") { [self] in self.runLoop() }
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
        return partitions.filter { $0.topic == primary }.flatMap { tp in
            topology.inputs.dropFirst().map { TopicPartition($0, tp.partition) }
        }
    }

    /// Partitions are paused lazily, at their first record during the restore (see
    /// `PartitionLifecycle.assigned()`).
    public var pausesAssignedPartitions: Bool { false }

    // MARK: - The loop (worker thread)

    /// A follower input (read partition by partition with the primary) with more partitions than
    /// the primary: its partitions past the primary's count would never be read, so the worker
    /// refuses to start. Topics the cluster does not know yet, or metadata that does not come in
    /// time, are let through with a warning: the check must not keep a worker down with the broker.
    func followerPartitionMismatch() -> WorkerError? {
        guard topology.inputs.count > 1, let consumer else { return nil }
        let counts: [String: Int?]
        do {
            var c: [String: Int?] = [:]
            for topic in topology.inputs { c[topic] = try consumer.partitionCount(of: topic, timeout: .seconds(5)) }
            counts = c
        } catch {
            logger.warning("partition counts of the inputs not checked", metadata: ["error": "\(error)"])
            return nil
        }
        return Self.followerPartitionMismatch(inputs: topology.inputs, partitionCounts: counts)
    }

    /// The mismatch of `partitionCounts` (nil: a topic the cluster does not know) for `inputs`,
    /// the primary first: the first follower with more partitions than the primary, or nil.
    static func followerPartitionMismatch(inputs: [String], partitionCounts counts: [String: Int?]) -> WorkerError? {
        guard let primary = inputs.first, let primaryCount = counts[primary] ?? nil else { return nil }
        for follower in inputs.dropFirst() {
            guard let count = counts[follower] ?? nil, count > primaryCount else { continue }
            return .configuration(
                source: "topic \(follower)", key: "partitions",
                reason: "\(count) partitions, more than the \(primaryCount) of \(primary), with which it is read "
                    + "partition by partition: partitions \(primaryCount) to \(count - 1) would never be read "
                    + "(give it at most \(primaryCount) partitions, or \(primary) as many)")
        }
        return nil
    }

    func runLoop() -> Result<Void, WorkerError> {
        do {
            let producer = try KafkaProducer(
                configuration: settings.producerConfiguration, name: "\(settings.stage)-producer", logger: logger)
            self.producer = producer
            sender = OutputSender(
                producer: producer,
                onDelivered: { [producedCounter, self] in
                    producedCounter.increment()
                    self.producedTotal.add(1, ordering: .relaxed)
                },
                onFailure: { [self] in self.recordFailure($0) })
            processor.workerStarting()
            warmStandby()
            if stopRequested.load(ordering: .acquiring) {
                // Stopped while the copies warmed: leave without joining the group.
                standby?.stop()
                standby = nil
                processor.workerStopped()
                producer.shutdownBlocking(timeout: settings.shutdownTimeout)
                self.producer = nil
                sender = nil
                setStatus(ready: false, detail: "stopped")
                return .success(())
            }
            consumer = try KafkaConsumer(
                configuration: settings.consumerConfiguration, name: "\(settings.stage)-consumer", logger: logger,
                rebalanceHandler: self)
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
            standby?.stop()
            standby = nil
            processor.workerStopped()
            return .failure(.kafka(error))
        }
        if let mismatch = followerPartitionMismatch() {
            setStatus(detail: "failed to start: \(mismatch)")
            consumer?.close()
            consumer = nil
            producer?.shutdownBlocking(timeout: settings.shutdownTimeout)
            producer = nil
            standby?.stop()
            standby = nil
            processor.workerStopped()
            return .failure(mismatch)
        }
        setStatus(detail: "joining group \(settings.groupId)")
        logger.info(
            "worker started",
            metadata: ["stage": "\(settings.stage)", "inputs": "\(topology.inputs)", "group": "\(settings.groupId)"])
        var nextTick = ContinuousClock.now + tickInterval
        var nextLagReport = ContinuousClock.now + settings.commitInterval
        while !stopRequested.load(ordering: .acquiring), failure.withLock({ $0 }) == nil {
            heartbeat.store(Self.monotonicMilliseconds(), ordering: .relaxed)
            let batch: [ConsumedRecord]
            do {
                batch = try consumer!.poll(max: 1000, timeout: .milliseconds(100))
            } catch {
                if error.isFatal || error.kind == .shutdown {
                    recordFailure(.kafka(error))
                    break
                }
                logger.warning("poll failed", metadata: ["error": "\(error)"])
                continue
            }
            wallClock = clock.milliseconds()
            var high: (TopicPartition, Int64)?
            for record in batch {
                // The end of the record's topic-partition as the fetcher last saw it (no broker call).
                if high?.0 != record.topicPartition {
                    high = (record.topicPartition, consumer!.cachedWatermarks(record.topicPartition)?.high ?? .max)
                }
                handle(record, caughtUp: record.offset + 1 >= high!.1)
            }
            applyFinishedRestores()
            startRestores()
            let now = ContinuousClock.now
            if now >= nextTick {
                nextTick = now + tickInterval
                runTicks()
            }
            // Each partition closes its flush at its own phase of the commit interval (FlushPhase).
            for owner in owners.values {
                let due = now >= owner.nextFlush
                if due { owner.nextFlush = now + settings.commitInterval }
                driveFlushes(force: due, owners: CollectionOfOne(owner))
            }
            storeOffsets()
            if now >= nextLagReport {
                nextLagReport = now + settings.commitInterval
                reportLag()
            }
        }
        return shutdown()
    }

    /// With `STANDBY_REPLICAS=all` and a changelog: starts the standby copies and waits, before the
    /// worker joins its group, until they hold the whole changelog (or `STANDBY_WARMUP_TIMEOUT_MS`
    /// passed), so a replica added to scale out takes its partitions warm and restores only what was
    /// written since. The wait is cut short by a stop request.
    func warmStandby() {
        guard settings.standby == .all, let changelog = topology.changelog, standby == nil else { return }
        let standby = StandbyReplicas<State>(
            changelog: changelog, configuration: settings.consumerConfiguration, logger: logger,
            futureTimeBound: FutureTimeBound(maxClockSkewMilliseconds: settings.maxClockSkew.inMilliseconds),
            warmUpTimeout: max(settings.standbyWarmUpTimeout, .milliseconds(1)), clock: clock)
        self.standby = standby
        standby.start()
        guard settings.standbyWarmUpTimeout > .zero else { return }
        setStatus(detail: "warming standby copies of \(changelog)")
        let began = ContinuousClock.now
        let answered = DispatchSemaphore(value: 0)
        let result = Atomic<Bool>(false)
        standby.whenWarm { warm in
            result.store(warm, ordering: .releasing)
            answered.signal()
        }
        while answered.wait(timeout: .now() + 0.2) == .timedOut {
            if stopRequested.load(ordering: .acquiring) { return }
        }
        let warm = result.load(ordering: .acquiring)
        if warm {
            let figures = (standby.keys, standby.recordsRead, ContinuousClock.now - began)
            standbyWarm.withLock { $0 = figures }
        }
        logger.log(
            level: warm ? .info : .warning, warm ? "standby copies warm" : "standby copies not warm in time; joining",
            metadata: [
                "changelog": "\(changelog)", "keys": "\(standby.keys)", "records": "\(standby.recordsRead)",
                "seconds": "\(((ContinuousClock.now - began).timeInterval * 100).rounded() / 100)",
            ])
    }

    func handle(_ record: ConsumedRecord, caughtUp: Bool = true) {
        let tp = record.topicPartition
        // Revoked between fetch and here (its new owner reads it again), or not accepting yet.
        guard let owner = owners[record.partition] else { return }
        let arrival = owner.lifecycle.recordArrived(tp, offset: record.offset)
        guard arrival == .process else {
            if case .pause = arrival { perform([arrival], owner: owner) }
            return
        }
        // Counted once it is taken in: a record fetched while its partition restores is read
        // again after the pause and must not count twice (a stopped worker commits what it took).
        consumedCounter.increment()
        consumedTotal.add(1, ordering: .relaxed)
        let input = inputIndex[record.topic] ?? 0
        let tracker = owner.tracker
        tracker.open(tp, offset: record.offset)
        let context = owner.context
        let state = context.state
        let key = record.keyString
        context.outputs.removeAll(keepingCapacity: true)
        context.current = record
        context.retryAt = nil
        context.wallClockMilliseconds = wallClock
        context.caughtUp = caughtUp
        if Int(input) < owner.lastRecordAt.count { owner.lastRecordAt[Int(input)] = wallClock }
        if let bound = owner.catchUp[input], record.offset <= bound, let key,
            state.alreadyApplied(key: key, input: input, offset: record.offset)
        {
            // Read again after a crash: its effect is in the restored state and its outputs were
            // acknowledged before that state was written. The processor only lets it move time.
            skippedCounter.increment()
            processor.alreadyApplied(record, context: context)
            for output in context.outputs { send(output, owner: owner, source: (tp, record.offset)) }
            context.outputs.removeAll(keepingCapacity: true)
            context.current = nil
            tracker.release(tp, offset: record.offset)
            return
        }
        state.current = key.map { (input, record.offset, $0) }
        let writesBefore = state.writeCount
        defer {
            context.current = nil
            state.current = nil
        }
        do throws(Rejection) {
            let size = (record.value?.count ?? 0) + (record.key?.count ?? 0)
            if size > settings.maxRecordBytes {
                throw Rejection(
                    code: "too_large",
                    reason: "record of \(size) bytes is over the limit of \(settings.maxRecordBytes) (MAX_RECORD_BYTES)"
                )
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
            context.outputs.append(
                DeadLetter.record(for: record, rejection: error, stage: settings.stage, topic: topology.deadLetter))
            deadLetterCounter.increment()
            logger.notice(
                "record dead-lettered",
                metadata: [
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

    func send(_ output: OutgoingRecord, owner: PartitionOwner<State>, source: (TopicPartition, Int64)?) {
        let partition = owner.partition
        sender?.send(output, tracker: owner.tracker, epochs: owner.epochs, source: source, blocking: true) {
            source.map { "\($0.0)@\($0.1)" } ?? "timer of partition \(partition)"
        }
    }

    /// Carries out a lifecycle's actions on the consumer and the processor.
    func perform(_ actions: [PartitionLifecycle.Action], owner: PartitionOwner<State>) {
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
                logger.error(
                    "partition action failed",
                    metadata: ["partition": "\(owner.partition)", "action": "\(action)", "error": "\(error)"])
                recordFailure(.kafka(error))
            }
        }
    }
}
