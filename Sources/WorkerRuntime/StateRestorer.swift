import BlockingWork
import Contracts
import Foundation
import Kafka
import Logging
import Synchronization

/// What a restore read from one changelog partition.
struct RestoredPartition<Value: StateValue>: Sendable {
    /// Per key: its value and the input offsets it already reflects (see `ChangelogEnvelope`).
    var entries = StateEntries<Value>()
    var metadata = PartitionMetadata()
    /// The highest owner epoch found; the new owner writes above it.
    var maxEpoch: Int64 = 0
    /// Keys whose latest value could not be decoded: left out of the state, copied to the DLT.
    var quarantined: [QuarantinedValue] = []
    /// Values whose frame holds numbers no owner could have written: skipped, as if absent.
    var corrupt: [CorruptValue] = []
    var records = 0
    /// Key and value bytes of the records read.
    var bytes = 0
    /// What the processor's `assignmentReader` read.
    var assignmentData: (any Sendable)?
}

/// A changelog value that could not be decoded (corrupt, or written by a newer version).
struct QuarantinedValue: Sendable {
    var key: String
    var value: [UInt8]
    var offset: Int64
    var reason: Rejection
}

/// A changelog value skipped at restore because its frame cannot be true (`ChangelogPlausibility`).
/// Its bytes are not kept: only where it is and why.
struct CorruptValue: Sendable {
    var key: String
    var offset: Int64
    var reason: String
}

/// Reads changelog partitions from the beginning to their end on a thread of its own, while the
/// worker keeps polling (its partitions stay paused until the restore is applied).
///
/// The timeout is on progress, not on the whole restore: a long changelog tail restores as long as
/// records keep arriving; the restore fails only when no record arrived for `stallTimeout` while
/// the end was not reached. Per key the value with the highest owner epoch wins (ties: the later
/// offset), which fences writes of an earlier owner that land late. A value that cannot be decoded
/// is quarantined, never fatal: one bad key does not take down every replica in turn. A value whose
/// frame cannot be true (an owner epoch far beyond the wall clock, an applied offset its input never
/// reached, a watermark beyond the future-time bound) is skipped as if it were not there.
final class RestoreJob<Value: StateValue>: Sendable {
    typealias Result = Swift.Result<[Int32: RestoredPartition<Value>], WorkerError>

    let partitions: [Int32]
    let generations: [Int32: Int]
    private let cancelled = Atomic<Bool>(false)
    private let outcome = Mutex<Result?>(nil)
    private let elapsed = Mutex<Duration?>(nil)
    /// Keys taken warm from the standby copies (`StandbyReplicas`) rather than read.
    let warmKeys = Mutex<Int>(0)

    init(partitions: [Int32], generations: [Int32: Int]) {
        self.partitions = partitions
        self.generations = generations
    }

    /// Stops reading as soon as possible; the result is then discarded.
    func cancel() { cancelled.store(true, ordering: .releasing) }

    /// The result once the job is done, taken once.
    func take() -> Result? {
        outcome.withLock { r in
            defer { r = nil }
            return r
        }
    }

    /// How long the job ran, once it is done.
    var duration: Duration? { elapsed.withLock { $0 } }

    /// Reads `changelog` (nil: a stateless stage) then, per partition, what `reader` reads, on a
    /// thread of its own; `onDone` is called there once the result can be taken.
    func start(
        changelog: String?, inputs: [String] = [], futureTimeBound: FutureTimeBound = FutureTimeBound(),
        reader: (@Sendable (Int32) throws -> any Sendable)?, configuration: KafkaConfiguration, logger: Logger,
        stallTimeout: Duration, clock: WallClock = .system, standby: StandbyReplicas<Value>? = nil,
        onDone: @escaping @Sendable () -> Void
    ) {
        BlockingThread.start(name: "restore-\(changelog ?? "inputs")") { [self] in
            let began = ContinuousClock.now
            var result =
                changelog.map {
                    run(
                        changelog: $0, inputs: inputs, futureTimeBound: futureTimeBound, configuration: configuration,
                        logger: logger, stallTimeout: stallTimeout, clock: clock, standby: standby)
                }
                ?? .success(Dictionary(uniqueKeysWithValues: partitions.map { ($0, RestoredPartition<Value>()) }))
            if let reader, case .success(var restored) = result {
                result = readAssignmentData(reader, into: &restored).map { restored }
            }
            elapsed.withLock { $0 = ContinuousClock.now - began }
            outcome.withLock { $0 = result }
            onDone()
        }
    }

    private func readAssignmentData(
        _ reader: @Sendable (Int32) throws -> any Sendable,
        into restored: inout [Int32: RestoredPartition<Value>]
    ) -> Swift.Result<Void, WorkerError> {
        for p in partitions {
            if cancelled.load(ordering: .acquiring) {
                return .failure(.restoreFailed(partition: p, reason: "cancelled"))
            }
            do {
                restored[p, default: RestoredPartition()].assignmentData = try reader(p)
            } catch {
                return .failure(
                    .restoreFailed(partition: p, reason: "reading what the partition needs at assignment: \(error)"))
            }
        }
        return .success(())
    }

    private func run(
        changelog: String, inputs: [String], futureTimeBound: FutureTimeBound,
        configuration: KafkaConfiguration, logger: Logger, stallTimeout: Duration, clock: WallClock,
        standby: StandbyReplicas<Value>?
    ) -> Result {
        var config = configuration
        for key in ["group.id", "group.instance.id", "partition.assignment.strategy"] { config[key] = nil }
        config["enable.auto.commit"] = "false"
        config["queued.min.messages"] = "100000"
        do {
            let consumer = try KafkaConsumer(configuration: config, name: "restore", logger: logger)
            defer { consumer.close() }
            // The standby's copies are taken before any end is read: every value in a copy was written
            // before the ends below, so the inputs' ends (read after) bound what it names, as they
            // bound every value the restore reads below the changelog's ends.
            var copies: [Int32: ChangelogReplica<Value>] = [:]
            if let standby { for p in partitions { copies[p] = standby.take(p) } }
            var ends: [Int32: Int64] = [:]
            var starts: [Int32: Int64] = [:]
            for p in partitions {
                let (low, high) = try consumer.watermarks(TopicPartition(changelog, p), timeout: stallTimeout)
                guard high > low else { continue }
                ends[p] = high
                // A copy is used only where the changelog still holds what it read past: not when the
                // log's start moved beyond it (records deleted) or its end is below it (the topic
                // recreated); then the partition is read from the beginning.
                if let copy = copies[p], copy.position >= low, copy.position <= high {
                    starts[p] = copy.position
                } else {
                    copies[p] = nil
                    starts[p] = KafkaOffset.beginning
                }
            }
            // The limits of a believable frame: the wall clock now, and each input partition's end.
            let now = clock.milliseconds()
            var limits: [Int32: ChangelogPlausibility] = [:]
            for p in partitions where ends[p] != nil {
                var inputEnds: [UInt8: Int64] = [:]
                for (index, input) in inputs.enumerated() where index <= Int(UInt8.max) {
                    // Read after the changelog's ends: every value read below was written after the
                    // input records it names existed. An end that cannot be read is not checked.
                    let tp = TopicPartition(input, p)
                    if let (_, high) = try? consumer.watermarks(tp, timeout: min(stallTimeout, .seconds(5))) {
                        inputEnds[UInt8(index)] = high
                    }
                }
                limits[p] = ChangelogPlausibility(now: now, futureTimeBound: futureTimeBound, inputEnds: inputEnds)
            }
            // Per partition: the standby's copy, read on from its position, or nothing.
            var replicas: [Int32: ChangelogReplica<Value>] = [:]
            for p in partitions {
                guard let copy = copies[p], let end = ends[p] else {
                    replicas[p] = ChangelogReplica()
                    continue
                }
                let limit = limits[p] ?? ChangelogPlausibility(now: now, futureTimeBound: futureTimeBound)
                replicas[p] = copy.taken(limit: limit)
                warmKeys.withLock { $0 += replicas[p]!.restored.entries.count }
                if copy.position >= end { ends[p] = nil }
            }
            if !ends.isEmpty {
                try consumer.assign(
                    Dictionary(uniqueKeysWithValues: ends.keys.map { (TopicPartition(changelog, $0), starts[$0]!) }))
            }
            var lastProgress = ContinuousClock.now
            while !ends.isEmpty {
                if cancelled.load(ordering: .acquiring) {
                    return .failure(.restoreFailed(partition: partitions[0], reason: "cancelled"))
                }
                guard let record = try consumer.poll(timeout: .milliseconds(200)) else {
                    if ContinuousClock.now - lastProgress > stallTimeout {
                        let p = ends.keys.min()!
                        return .failure(
                            .restoreFailed(
                                partition: p,
                                reason:
                                    "changelog \(changelog) made no progress for \(stallTimeout) before its end (offset \(ends[p]!))"
                            ))
                    }
                    continue
                }
                lastProgress = ContinuousClock.now
                let p = record.partition
                guard replicas[p] != nil else { continue }
                if let end = ends[p], record.offset + 1 >= end { ends[p] = nil }
                let limit = limits[p] ?? ChangelogPlausibility(now: .max, futureTimeBound: futureTimeBound)
                replicas[p]!.apply(key: record.keyString, value: record.value, offset: record.offset, limit: limit)
            }
            let result = replicas.mapValues(\.restored)
            logger.info(
                "state restored",
                metadata: [
                    "changelog": "\(changelog)", "partitions": "\(partitions)",
                    "records": "\(result.values.reduce(0) { $0 + $1.records })",
                    "bytes": "\(result.values.reduce(0) { $0 + $1.bytes })",
                    "keys": "\(result.values.reduce(0) { $0 + $1.entries.count })",
                    "keys_warm": "\(warmKeys.withLock { $0 })",
                    "quarantined": "\(result.values.reduce(0) { $0 + $1.quarantined.count })",
                    "corrupt": "\(result.values.reduce(0) { $0 + $1.corrupt.count })",
                ])
            return .success(result)
        } catch {
            return .failure(.kafka(error))
        }
    }
}
