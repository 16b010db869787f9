import Kafka

/// The life of one owned partition number (the primary input's partition and its co-partitioned
/// followers) as a pure state machine: each event returns the actions the worker carries out on
/// the consumer. No I/O here, so every transition is tested without a broker.
///
/// ```
///  assigned ──► restoring ──restored──► active ◄──resume due──┐
///                 │   ▲                   │                   │
///                 │   └──restore failed   ├──retryLater──► (one topic-partition paused)
///                 ▼     (retried later)   ▼
///               revoked / lost ◄──────────┘
/// ```
///
/// Invariants: records are processed only while `active`; a partition is never processed before
/// its restore succeeded; every pause this machine asks for is matched by a resume or by giving
/// the partition up; a record dropped because it arrived while not accepting is read again
/// (seek back) before anything after it is processed.
public struct PartitionLifecycle: Sendable, Equatable {
    public enum Phase: Sendable, Equatable {
        /// Paused; state being read from the changelog.
        case restoring
        /// Processing records.
        case active
        /// Given up (revoked or lost): nothing of this generation may complete work any more.
        case gone
    }

    public enum Action: Sendable, Equatable {
        /// Hand the record to the processor.
        case process
        /// Ignore the record (it is read again later).
        case drop
        /// Ignore the record and pause its topic-partition (read again from it later); also
        /// the pause of a retry.
        case pause([TopicPartition])
        case resume([TopicPartition])
        case seek(TopicPartition, Int64)
        /// Read the state from the changelog (again, after a failure).
        case startRestore
        /// Tell the processor the partition is ready (after restore) or going away.
        case notifyAssigned
        case notifyRevoked
    }

    /// Increases with every assignment of this partition number to this worker.
    public let generation: Int
    public let partitions: [TopicPartition]
    public private(set) var phase: Phase = .restoring
    /// Topic-partitions paused by `retryLater`, with the wall-clock time (ms) they are due.
    public private(set) var retryPauses: [TopicPartition: Int64] = [:]
    /// Lowest offset dropped per topic-partition while restoring: read again on activation.
    public private(set) var rewinds: [TopicPartition: Int64] = [:]
    /// Failed restores in a row.
    public private(set) var restoreFailures = 0

    public init(generation: Int, partitions: [TopicPartition]) {
        self.generation = generation
        self.partitions = partitions.sorted()
    }

    /// Assigned: restore first. Records that arrive meanwhile are dropped, their topic-partition
    /// paused at the first one (an active fetch pauses reliably; librdkafka 2.0.2 can leave a
    /// partition paused in the rebalance callback, before its first fetch, stuck after resume),
    /// and read again from there once restored.
    public func assigned() -> [Action] { [.startRestore] }

    /// The state is in memory: resume everything not held by a retry, after seeking back to any
    /// record dropped meanwhile.
    public mutating func restored() -> [Action] {
        guard phase == .restoring else { return [] }
        phase = .active
        restoreFailures = 0
        var actions: [Action] = [.notifyAssigned]
        for (tp, offset) in rewinds.sorted(by: { $0.key < $1.key }) { actions.append(.seek(tp, offset)) }
        rewinds = [:]
        let resumable = partitions.filter { retryPauses[$0] == nil }
        if !resumable.isEmpty { actions.append(.resume(resumable)) }
        return actions
    }

    /// The restore failed: stay paused and not ready; the worker retries after a back-off.
    public mutating func restoreFailed() -> [Action] {
        guard phase == .restoring else { return [] }
        restoreFailures += 1
        return []
    }

    /// Whether a failed restore should be tried again now (called by the worker's timer).
    public func shouldRetryRestore(elapsedSinceFailure: Duration) -> Bool {
        phase == .restoring && restoreFailures > 0
            && elapsedSinceFailure >= Self.restoreBackoff(failures: restoreFailures)
    }

    /// One second, doubling per failure, at most 30 s.
    public static func restoreBackoff(failures: Int) -> Duration {
        .seconds(min(30, 1 << min(max(failures - 1, 0), 5)))
    }

    /// A record of one of this owner's topic-partitions arrived.
    public mutating func recordArrived(_ tp: TopicPartition, offset: Int64) -> Action {
        switch phase {
        case .active:
            // Fetched before its partition was paused for a retry: read again on resume.
            return retryPauses[tp] == nil ? .process : .drop
        case .restoring:
            if let first = rewinds[tp] {
                rewinds[tp] = min(first, offset)
                return .drop
            }
            rewinds[tp] = offset
            return .pause([tp])
        case .gone:
            return .drop
        }
    }

    /// The processor asked to see `offset` again at `due` (wall clock, ms): pause that
    /// topic-partition only, and rewind it to the record.
    public mutating func retryLater(_ tp: TopicPartition, offset: Int64, due: Int64) -> [Action] {
        guard phase == .active, partitions.contains(tp) else { return [] }
        let alreadyPaused = retryPauses[tp] != nil
        retryPauses[tp] = due
        return (alreadyPaused ? [] : [.pause([tp])]) + [.seek(tp, offset)]
    }

    /// The timer: resume topic-partitions whose retry is due.
    public mutating func tick(nowMilliseconds now: Int64) -> [Action] {
        guard phase == .active, !retryPauses.isEmpty else { return [] }
        let due = retryPauses.filter { $0.value <= now }.map(\.key).sorted()
        guard !due.isEmpty else { return [] }
        for tp in due { retryPauses[tp] = nil }
        return [.resume(due)]
    }

    /// The earliest wall-clock time a paused topic-partition is due, if any.
    public var nextRetryDue: Int64? { retryPauses.values.min() }

    /// Revoked in an orderly way or lost: the processor hears of it only if it heard of the
    /// assignment. The consumer drops the pauses of partitions it gives up.
    public mutating func gone() -> [Action] {
        let wasActive = phase == .active
        phase = .gone
        retryPauses = [:]
        rewinds = [:]
        return wasActive ? [.notifyRevoked] : []
    }
}
