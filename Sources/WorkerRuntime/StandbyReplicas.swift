import Contracts
import Kafka
import Logging
import Synchronization

/// Which changelog partitions a worker keeps a warm copy of (`STANDBY_REPLICAS`), so that a
/// partition moved to it (a replica added, a replica gone) restores only the changelog's tail.
public enum StandbyMode: String, Sendable, CaseIterable {
    /// None: a moved partition restores from the beginning of its changelog.
    case none
    /// Every partition of the stage's changelog: a copy of the whole stage's state (as encoded
    /// changelog values) on every replica. librdkafka's assignors cannot be told where standbys
    /// are, so a copy of everything is the way every replica is warm for whatever it is given.
    case all
}

/// Warm copies of the changelog partitions (Kafka Streams' standby replicas): a `TopicFollower` reads
/// the stage's changelog whole, every partition from the start, and applies each record with the
/// restore's own rule (`ChangelogReplica`), keeping the values decoded as the restore would: a
/// restore takes the copy of its partition (`take`, its values shared until changed) and reads only
/// the records after it. The memory is the stage's whole state again, in every replica.
///
/// Every partition is copied, the ones this worker owns too: the copy is the changelog as read, never
/// the worker's live state, so a partition that leaves and comes back needs no hand-over, and one
/// lost without a flush is still only what the changelog holds. Frames are judged at read time
/// against the wall clock (no input ends: those are checked when a partition is taken). A copy is
/// used only while the changelog still holds what it read past (`RestoreJob`); a changelog deleted
/// and recreated under running replicas is not followed: restart them.
final class StandbyReplicas<Value: StateValue>: Sendable {
    private let follower: TopicFollower
    private let futureTimeBound: FutureTimeBound
    private let clock: WallClock
    private let replicas = Mutex<[Int32: ChangelogReplica<Value>]>([:])

    /// A standby of `changelog`, read with `configuration` (the worker's Kafka settings).
    init(
        changelog: String, configuration: KafkaConfiguration, logger: Logger, futureTimeBound: FutureTimeBound,
        warmUpTimeout: Duration, clock: WallClock = .system
    ) {
        follower = TopicFollower(
            topic: changelog, name: "standby replicas", configuration: configuration, logger: logger,
            catchUpTimeout: warmUpTimeout, absentTopicIsEmpty: true)
        self.futureTimeBound = futureTimeBound
        self.clock = clock
    }

    /// Starts reading.
    func start() {
        follower.start { [self] record in
            let limit = ChangelogPlausibility(now: clock.milliseconds(), futureTimeBound: futureTimeBound)
            replicas.withLock { replicas in
                // A record read again (the follower reopened after a failure) is not applied twice.
                if let known = replicas[record.partition], record.offset < known.position { return }
                if replicas[record.partition] == nil {
                    var fresh = ChangelogReplica<Value>()
                    fresh.pruneSuperseded = true
                    replicas[record.partition] = fresh
                }
                replicas[record.partition]!.apply(
                    key: record.keyString, value: record.value, offset: record.offset, limit: limit)
            }
        }
    }

    /// Calls `answer` once: whether the copy holds everything the changelog held at the call, within
    /// the warm-up time-out (never on the caller's thread).
    func whenWarm(_ answer: @escaping @Sendable (Bool) -> Void) { follower.whenCaughtUp(answer) }

    /// Stops reading and frees the follower's handle. Blocking.
    func stop() { follower.stop() }

    /// The copy of `partition` as read so far (its `position` is where the changelog is to be read
    /// on from), nil when nothing of it has been read.
    func take(_ partition: Int32) -> ChangelogReplica<Value>? {
        replicas.withLock { $0[partition] }
    }

    /// Keys held over every partition.
    var keys: Int { replicas.withLock { $0.values.reduce(0) { $0 + $1.restored.entries.count } } }

    /// Records read since the start.
    var recordsRead: Int { follower.recordsRead }
}
