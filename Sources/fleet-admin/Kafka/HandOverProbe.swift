import Contracts
import Kafka
import Synchronization
import WorkerRuntime

/// What `bench rescale` sees of its members, shared by their probes: the hand-over moments
/// (`HandOverTimeline`), the keys each member held when it gave a partition up, and, while
/// `recording` is on, every processed record's delay (processed - its Kafka timestamp).
final class HandOverWatch: Sendable {
    /// One processed record while recording.
    struct Delay: Sendable {
        var member: Int
        var partition: Int32
        var producedAt: Int64
        var processedAt: Int64
    }

    private let timeline = Mutex(HandOverTimeline())
    private let keysAtRevoke = Mutex<[Int32: Int]>([:])
    private let delays = Mutex<[Delay]>([])
    let recording = Atomic<Bool>(false)

    var snapshot: HandOverTimeline { timeline.withLock { $0 } }
    var recordedDelays: [Delay] { delays.withLock { $0 } }
    /// Keys held per partition by the member that gave it up last.
    var keysHeldAtRevoke: [Int32: Int] { keysAtRevoke.withLock { $0 } }

    func revoked(member: Int, partition: Int32, keys: Int) {
        let now = WallClock.system.milliseconds()
        timeline.withLock { $0.revoked(member: member, partition: partition, at: now) }
        keysAtRevoke.withLock { $0[partition] = keys }
    }

    func ready(member: Int, partition: Int32) {
        let now = WallClock.system.milliseconds()
        timeline.withLock { $0.ready(member: member, partition: partition, at: now) }
    }

    func firstRecord(member: Int, partition: Int32) {
        let now = WallClock.system.milliseconds()
        timeline.withLock { $0.processed(member: member, partition: partition, at: now) }
    }

    func delay(member: Int, partition: Int32, producedAt: Int64) {
        let now = WallClock.system.milliseconds()
        delays.withLock {
            $0.append(Delay(member: member, partition: partition, producedAt: producedAt, processedAt: now))
        }
    }
}

/// A processor that forwards everything to the stage's own and notes the partition lifecycle of
/// its member in a `HandOverWatch`: ready (state restored), the first record processed after it,
/// and the start of a revoke (its drain), with the keys held then.
final class HandOverProbe<Inner: RecordProcessor>: RecordProcessor {
    typealias State = Inner.State

    let inner: Inner
    let member: Int
    let watch: HandOverWatch
    /// Partitions whose first record since ready was noted (worker thread only).
    private var seen: Set<Int32> = []
    /// Partitions revoked since their last ready (a stop drains without revoking again).
    private var draining: Set<Int32> = []

    init(_ inner: Inner, member: Int, watch: HandOverWatch) {
        self.inner = inner
        self.member = member
        self.watch = watch
    }

    func process(_ record: ConsumedRecord, context: ProcessingContext<State>) throws(Rejection) {
        let p = context.partition
        if !seen.contains(p) {
            seen.insert(p)
            watch.firstRecord(member: member, partition: p)
        }
        if watch.recording.load(ordering: .relaxed), let stamp = record.timestamp {
            watch.delay(member: member, partition: p, producedAt: stamp)
        }
        try inner.process(record, context: context)
    }

    func tick(nowMilliseconds: Int64, context: ProcessingContext<State>) {
        inner.tick(nowMilliseconds: nowMilliseconds, context: context)
    }

    func partitionAssigned(context: ProcessingContext<State>) {
        inner.partitionAssigned(context: context)
        seen.remove(context.partition)
        draining.remove(context.partition)
        watch.ready(member: member, partition: context.partition)
    }

    func partitionDraining(context: ProcessingContext<State>) {
        if !draining.contains(context.partition) {
            draining.insert(context.partition)
            watch.revoked(member: member, partition: context.partition, keys: context.state.count)
        }
        inner.partitionDraining(context: context)
    }

    func alreadyApplied(_ record: ConsumedRecord, context: ProcessingContext<State>) {
        inner.alreadyApplied(record, context: context)
    }

    func partitionRevoked(context: ProcessingContext<State>) {
        inner.partitionRevoked(context: context)
    }

    var assignmentReader: (@Sendable (Int32) throws -> any Sendable)? { inner.assignmentReader }

    func workerStarting() { inner.workerStarting() }

    func workerStopped() { inner.workerStopped() }
}
