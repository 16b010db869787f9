/// The moments of partitions changing owner between members of a group, and how long each moved
/// partition's records waited: from the old owner giving it up (revoke) to the new owner's first
/// processed record. Filled by whoever watches the members (`fleet-admin bench rescale`); the
/// figures are computed here, without Kafka, so they can be tested.
///
/// Times are milliseconds on one clock shared by every member watched (wall clock since the epoch,
/// so they compare with record timestamps).
public struct HandOverTimeline: Sendable, Equatable {
    /// One partition moved from `from` to `to`.
    public struct HandOver: Sendable, Equatable {
        public var partition: Int32
        public var from: Int
        public var to: Int
        /// The old owner started giving the partition up.
        public var revokedAt: Int64
        /// The new owner had its state restored and was about to process it (nil: not yet).
        public var readyAt: Int64?
        /// The new owner processed its first record of it (nil: not yet).
        public var firstRecordAt: Int64?

        /// Revoke to first record processed on the new owner: how long its records waited.
        public var wait: Int64? { firstRecordAt.map { $0 - revokedAt } }
        public init(
            partition: Int32, from: Int, to: Int, revokedAt: Int64, readyAt: Int64? = nil, firstRecordAt: Int64? = nil
        ) {
            self.partition = partition
            self.from = from
            self.to = to
            self.revokedAt = revokedAt
            self.readyAt = readyAt
            self.firstRecordAt = firstRecordAt
        }

        /// Revoke to ready on the new owner: group protocol and restore.
        public var untilReady: Int64? { readyAt.map { $0 - revokedAt } }
    }

    private struct Key: Hashable {
        var member: Int
        var partition: Int32
    }

    private var revoked: [Key: Int64] = [:]
    private var ready: [Key: Int64] = [:]
    private var first: [Key: Int64] = [:]

    public init() {}

    /// `member` started giving `partition` up at `at` (the earliest report counts).
    public mutating func revoked(member: Int, partition: Int32, at: Int64) {
        let key = Key(member: member, partition: partition)
        revoked[key] = min(revoked[key] ?? .max, at)
    }

    /// `member` restored `partition`'s state at `at` (a new assignment forgets its earlier first record).
    public mutating func ready(member: Int, partition: Int32, at: Int64) {
        let key = Key(member: member, partition: partition)
        ready[key] = at
        first[key] = nil
    }

    /// `member` processed a record of `partition` at `at` (the first after `ready` counts).
    public mutating func processed(member: Int, partition: Int32, at: Int64) {
        let key = Key(member: member, partition: partition)
        if first[key] == nil { first[key] = at }
    }

    /// Whether `member` has processed a record of `partition` since it became ready.
    public func hasProcessed(member: Int, partition: Int32) -> Bool {
        first[Key(member: member, partition: partition)] != nil
    }

    /// The partitions `from` gave up, by partition, with when `to` became ready for each after the
    /// revoke and processed its first record (nil where it has not, yet).
    public func handOvers(from: Int, to: Int) -> [HandOver] {
        revoked.compactMap { key, revokedAt -> HandOver? in
            guard key.member == from else { return nil }
            let next = Key(member: to, partition: key.partition)
            guard let readyAt = ready[next], readyAt >= revokedAt else {
                return HandOver(partition: key.partition, from: from, to: to, revokedAt: revokedAt)
            }
            return HandOver(
                partition: key.partition, from: from, to: to, revokedAt: revokedAt, readyAt: readyAt,
                firstRecordAt: first[next])
        }
        .sorted { $0.partition < $1.partition }
    }
}

/// p50, p99 and max of a list of durations or delays (nearest rank), for benchmark reports.
public struct Percentiles: Sendable, Equatable {
    public var count: Int
    public var p50: Int64
    public var p99: Int64
    public var max: Int64

    /// The figures of `values`; nil when there are none.
    public init?(_ values: [Int64]) {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        func rank(_ p: Double) -> Int64 {
            sorted[Swift.min(sorted.count - 1, Swift.max(0, Int((p * Double(sorted.count)).rounded(.up)) - 1))]
        }
        count = sorted.count
        p50 = rank(0.50)
        p99 = rank(0.99)
        max = sorted[sorted.count - 1]
    }
}
