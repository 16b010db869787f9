import Kafka
import Synchronization

/// Per-partition progress of records in flight: out-of-order completion, in-order commit.
///
/// Every record taken from a partition is opened with a number of holds (its produced outputs,
/// its processing, a pending state flush). Holds are released in any order, from any thread.
/// `committable()` gives, per partition, the offset up to which every record is finished: the
/// lowest record still open bounds it.
public final class OffsetTracker: Sendable {
    /// Records of one partition in arrival (= offset) order, from `head` on still tracked.
    /// Offsets only grow within a partition, so a record is found by binary search: no hashing
    /// and no copying on the hot path.
    private final class Partition {
        var offsets: [Int64] = []
        var holds: [Int32] = []
        var head = 0
        var openCount = 0
        /// Next offset to commit (last finished + 1), once known.
        var committable: Int64?
        var lastReported: Int64?

        func index(of offset: Int64) -> Int? {
            var low = head
            var high = offsets.count - 1
            while low <= high {
                let mid = (low + high) >> 1
                let value = offsets[mid]
                if value == offset { return mid }
                if value < offset { low = mid + 1 } else { high = mid - 1 }
            }
            return nil
        }

        func open(_ offset: Int64, holds count: Int) {
            if let last = offsets.last, offset <= last, head < offsets.count {
                // A record seen again (seek back): track it after the others.
                if let i = index(of: offset), holds[i] > 0 {
                    holds[i] += Int32(count)
                    return
                }
            }
            offsets.append(offset)
            holds.append(Int32(count))
            openCount += 1
        }

        func release(_ offset: Int64) {
            guard let i = index(of: offset), holds[i] > 0 else { return }  // given up (-1): stays
            holds[i] -= 1
            if holds[i] == 0 {
                openCount -= 1
                if i == head { advance() }
            }
        }

        func advance() {
            while head < offsets.count, holds[head] == 0 {
                committable = offsets[head] + 1
                head += 1
            }
            if head >= 4096, head * 2 >= offsets.count {
                offsets.removeFirst(head)
                holds.removeFirst(head)
                head = 0
            }
        }
    }

    private let partitions = Mutex<[TopicPartition: Partition]>([:])

    public init() {}

    /// Starts tracking a record with `holds` open holds (at least 1).
    public func open(_ tp: TopicPartition, offset: Int64, holds: Int = 1) {
        partitions.withLock { all in
            if let p = all[tp] {
                p.open(offset, holds: holds)
            } else {
                let p = Partition()
                p.open(offset, holds: holds)
                all[tp] = p
            }
        }
    }

    /// Adds holds to an open record.
    public func hold(_ tp: TopicPartition, offset: Int64, count: Int = 1) {
        partitions.withLock { all in
            guard let p = all[tp], let i = p.index(of: offset), p.holds[i] > 0 else { return }
            p.holds[i] += Int32(count)
        }
    }

    /// Releases one hold of a record; the record is finished when none is left.
    public func release(_ tp: TopicPartition, offset: Int64) {
        partitions.withLock { all in all[tp]?.release(offset) }
    }

    /// Gives a record up for this assignment: it no longer counts as open (a drain does not wait
    /// for it) but it is never finished either, so the commit stays below it and the partition's
    /// next owner reads it again. Later releases of its holds change nothing.
    public func giveUp(_ tp: TopicPartition, offset: Int64) {
        partitions.withLock { all in
            guard let p = all[tp], let i = p.index(of: offset), p.holds[i] > 0 else { return }
            p.openCount -= 1
            p.holds[i] = -1
        }
    }

    /// Stops tracking a record that will be delivered again (its partition was rewound to it):
    /// the commit stays below it.
    public func abandon(_ tp: TopicPartition, offset: Int64) {
        partitions.withLock { all in
            guard let p = all[tp], let i = p.index(of: offset) else { return }
            if p.holds[i] > 0 { p.openCount -= 1 }
            p.offsets.remove(at: i)
            p.holds.remove(at: i)
        }
    }

    /// New committable offsets since the last call (next offset to consume, per partition).
    public func takeCommittable() -> [TopicPartition: Int64] {
        partitions.withLock { all in
            var out: [TopicPartition: Int64] = [:]
            for (tp, p) in all {
                if let c = p.committable, c != p.lastReported {
                    out[tp] = c
                    p.lastReported = c
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

    /// Where work stands per partition: the lowest record still open, else the next offset to
    /// commit; partitions with neither (nothing read since assignment) are left out.
    public func processedUpTo(_ tps: [TopicPartition]) -> [TopicPartition: Int64] {
        partitions.withLock { all in
            var out: [TopicPartition: Int64] = [:]
            for tp in tps {
                guard let p = all[tp] else { continue }
                if p.head < p.offsets.count {
                    out[tp] = p.offsets[p.head]
                } else if let c = p.committable {
                    out[tp] = c
                }
            }
            return out
        }
    }

    /// Records still open, over all partitions or the given ones.
    public func openCount(_ tps: [TopicPartition]? = nil) -> Int {
        partitions.withLock { all in
            (tps ?? Array(all.keys)).reduce(0) { $0 + (all[$1]?.openCount ?? 0) }
        }
    }

    /// Forgets partitions (after a revoke).
    public func drop(_ tps: [TopicPartition]) {
        partitions.withLock { all in for tp in tps { all[tp] = nil } }
    }
}
