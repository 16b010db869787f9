import Kafka
import Synchronization

/// Per-partition progress of records in flight: out-of-order completion, in-order commit.
///
/// Every record taken from a partition is opened with a number of holds (its produced outputs,
/// its processing, a pending state flush). Holds are released in any order, from any thread.
/// `committable()` gives, per partition, the offset up to which every record is finished: the
/// lowest record still open bounds it.
public final class OffsetTracker: Sendable {
    private struct Partition {
        /// Offsets in arrival order, from `head` on still tracked.
        var offsets: [Int64] = []
        var holds: [Int64: Int] = [:]
        var head = 0
        /// Next offset to commit (last finished + 1), once known.
        var committable: Int64?
        var lastReported: Int64?

        mutating func advance() {
            while head < offsets.count, holds[offsets[head]] == nil {
                committable = offsets[head] + 1
                head += 1
            }
            if head > 1024, head * 2 > offsets.count {
                offsets.removeFirst(head)
                head = 0
            }
        }
    }

    private let partitions = Mutex<[TopicPartition: Partition]>([:])

    public init() {}

    /// Starts tracking a record with `holds` open holds (at least 1).
    public func open(_ tp: TopicPartition, offset: Int64, holds: Int = 1) {
        partitions.withLock { all in
            all[tp, default: Partition()].offsets.append(offset)
            all[tp]!.holds[offset] = holds
        }
    }

    /// Adds holds to an open record.
    public func hold(_ tp: TopicPartition, offset: Int64, count: Int = 1) {
        partitions.withLock { all in
            if let current = all[tp]?.holds[offset] { all[tp]!.holds[offset] = current + count }
        }
    }

    /// Releases one hold of a record; the record is finished when none is left.
    public func release(_ tp: TopicPartition, offset: Int64) {
        partitions.withLock { all in
            guard var p = all[tp], let current = p.holds[offset] else { return }
            if current <= 1 {
                p.holds[offset] = nil
                p.advance()
            } else {
                p.holds[offset] = current - 1
            }
            all[tp] = p
        }
    }

    /// New committable offsets since the last call (next offset to consume, per partition).
    public func takeCommittable() -> [TopicPartition: Int64] {
        partitions.withLock { all in
            var out: [TopicPartition: Int64] = [:]
            for (tp, p) in all {
                if let c = p.committable, c != p.lastReported {
                    out[tp] = c
                    all[tp]!.lastReported = c
                }
            }
            return out
        }
    }

    /// Committable offsets of the given partitions, whether reported before or not.
    public func committable(_ tps: [TopicPartition]) -> [TopicPartition: Int64] {
        partitions.withLock { all in
            var out: [TopicPartition: Int64] = [:]
            for tp in tps { if let c = all[tp]?.committable { out[tp] = c } }
            return out
        }
    }

    /// Records still open, over all partitions or the given ones.
    public func openCount(_ tps: [TopicPartition]? = nil) -> Int {
        partitions.withLock { all in
            (tps ?? Array(all.keys)).reduce(0) { $0 + (all[$1]?.holds.count ?? 0) }
        }
    }

    /// Forgets partitions (after a revoke).
    public func drop(_ tps: [TopicPartition]) {
        partitions.withLock { all in for tp in tps { all[tp] = nil } }
    }
}
