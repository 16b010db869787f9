import Kafka
import Synchronization

/// Everything the worker keeps for one assigned partition number (the primary input's partition
/// and its co-partitioned followers), for one assignment: its lifecycle, offset tracker, flush
/// ledger, epochs and processor state. A new assignment of the same number gets a new owner, so
/// nothing from an earlier assignment (a late delivery report, a `PendingRecord` finished after a
/// drain timed out) can complete work in a later one.
///
/// Owned by the worker thread; the tracker, the epoch counter and the open deferred records are
/// also touched by delivery callbacks and other threads, and are thread-safe.
// @unchecked: its mutable fields are touched on the worker thread only; what other threads reach is thread-safe.
final class PartitionOwner<State: StateValue>: @unchecked Sendable {
    var lifecycle: PartitionLifecycle
    var partition: Int32
    let tracker = OffsetTracker()
    let epochs = EpochCounter()
    var context: ProcessingContext<State>
    /// Flushes closed but not yet written (waiting for their epoch's outputs).
    var pending: [PendingFlush] = []
    /// Per topic-partition: the first record that changed state since the last flush closed; its
    /// commit waits for that flush.
    var flushHolds: [TopicPartition: Int64] = [:]
    /// This assignment's owner epoch, written in every changelog value (fencing).
    var ownerEpoch: Int64 = 0
    /// Per input index: the highest applied offset restored; records at or below it are checked
    /// against their key's applied offset and skipped when already in the state.
    var catchUp: [UInt8: Int64] = [:]
    /// Records deferred (`deferCompletion`) and not finished yet, per key.
    let deferred = DeferredRecords()
    /// Wall clock (ms) of the last record per input index (for `caughtUp` at ticks).
    var lastRecordAt: [Int64]
    var restoreJob: RestoreJob<State>?
    var restoreFailedAt: ContinuousClock.Instant?
    /// When this partition next closes its changes into a flush (`FlushPhase`).
    var nextFlush: ContinuousClock.Instant

    init(
        generation: Int, partition: Int32, partitions: [TopicPartition], maxClockSkewMilliseconds: Int64,
        firstFlush: ContinuousClock.Instant
    ) {
        self.partition = partition
        self.nextFlush = firstFlush
        self.lastRecordAt = Array(repeating: 0, count: max(Set(partitions.map(\.topic)).count, 1))
        self.lifecycle = PartitionLifecycle(generation: generation, partitions: partitions)
        self.context = ProcessingContext(
            state: PartitionState(partition: partition), maxClockSkewMilliseconds: maxClockSkewMilliseconds)
    }

    var generation: Int { lifecycle.generation }
    var isActive: Bool { lifecycle.phase == .active }
    var topicPartitions: [TopicPartition] { lifecycle.partitions }
}

/// A closed flush: its changelog writes, and the records whose commit waits for them.
struct PendingFlush {
    var epoch: Int
    var writes: [OutgoingRecord]
    var holds: [(TopicPartition, Int64)]
}

/// Deferred records still open, per state key: a key's applied offset is written no higher than
/// just below its oldest open deferred record, so that record is processed again after a crash.
final class DeferredRecords: Sendable {
    private let open = Mutex<[String: [(input: UInt8, offset: Int64)]]>([:])

    func add(key: String, input: UInt8, offset: Int64) {
        open.withLock { $0[key, default: []].append((input, offset)) }
    }

    func remove(key: String, input: UInt8, offset: Int64) {
        open.withLock { all in
            all[key]?.removeAll { $0.input == input && $0.offset == offset }
            if all[key]?.isEmpty == true { all[key] = nil }
        }
    }

    /// `applied` lowered below the oldest open deferred record of `key`, per input.
    func cap(_ applied: [UInt8: Int64], key: String) -> [UInt8: Int64] {
        open.withLock { all in
            guard let records = all[key] else { return applied }
            var capped = applied
            for record in records {
                if let value = capped[record.input], value >= record.offset { capped[record.input] = record.offset - 1 }
            }
            return capped
        }
    }
}

/// Outputs in flight per epoch. A flush closes the current epoch; its changelog writes go out
/// only when every output of that epoch and the ones before is acknowledged.
final class EpochCounter: Sendable {
    /// In-flight counts of epochs `base...current`, oldest first.
    private struct Counts {
        var base = 0
        var current = 0
        var inFlight: [Int] = [0]
    }
    private let counts = Mutex(Counts())

    func begin() -> Int {
        counts.withLock { c in
            c.inFlight[c.current - c.base] += 1
            return c.current
        }
    }

    func end(_ epoch: Int) {
        counts.withLock { c in
            let i = epoch - c.base
            guard i >= 0, i < c.inFlight.count, c.inFlight[i] > 0 else { return }
            c.inFlight[i] -= 1
            // Forget finished epochs at the front.
            while c.inFlight.count > 1, c.inFlight[0] == 0 {
                c.inFlight.removeFirst()
                c.base += 1
            }
        }
    }

    /// Closes the current epoch and returns it.
    func close() -> Int {
        counts.withLock { c in
            c.current += 1
            c.inFlight.append(0)
            while c.inFlight.count > 1, c.inFlight[0] == 0 {
                c.inFlight.removeFirst()
                c.base += 1
            }
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
