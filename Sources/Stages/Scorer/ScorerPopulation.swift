import Contracts
import HealthModel
import Kafka
import Logging
import Metrics
import Synchronization
import WorkerRuntime

/// The parts of the population read from `ingest-scorer-population` (one per scorer partition,
/// key = the partition number), written by the topic follower's thread and read by the worker's,
/// each with the wall-clock time it was read (a part not published again for a while has lost its
/// owner).
/// A record that is not a part (its key not a partition number, its value not a part's bytes) is
/// left out and counted, with a warning for the first; a record without a value removes its part.
public final class PopulationTable: Sendable {
    private struct State {
        var parts: [Int32: PopulationPart] = [:]
        /// When each part was last read (wall clock, ms).
        var readAt: [Int32: Int64] = [:]
        /// Bumped at every change, so a reader rebuilds its sums only when something changed.
        var version = 0
        /// Bumped when a part comes, goes or seals another day (what judges days).
        var sealVersion = 0
        var rejected = 0
    }

    private let state = Mutex(State())
    private let logger: Logger
    private let clock: WallClock
    private let refusedCounter: Counter

    /// A table whose parts are stamped with `clock`'s time when read; records left out are counted
    /// in `fleet_scorer_population_records_refused_total` of `factory`.
    public init(logger: Logger, clock: WallClock = .system, factory: any MetricsFactory = MetricsSystem.factory) {
        self.logger = logger
        self.clock = clock
        refusedCounter = Counter(label: "fleet_scorer_population_records_refused_total", factory: factory)
    }

    /// Takes one record of the topic: its part replaces the partition's (or, without a value,
    /// removes it).
    public func receive(_ record: ConsumedRecord) {
        guard let key = record.key, let text = String(validating: key, as: UTF8.self), text.utf8.count <= 6,
            let partition = Int32(text), partition >= 0
        else { return reject(record, reason: "key is not a partition number") }
        guard let value = record.value else {
            state.withLock { s in
                s.readAt[partition] = nil
                if s.parts.removeValue(forKey: partition) != nil {
                    s.version += 1
                    s.sealVersion += 1
                }
            }
            return
        }
        do {
            let part = try PopulationPart(decoding: value)
            let now = clock.milliseconds()
            state.withLock { s in
                s.readAt[partition] = now
                guard s.parts[partition] != part else { return }
                if s.parts[partition]?.sealedThrough != part.sealedThrough { s.sealVersion += 1 }
                s.parts[partition] = part
                s.version += 1
            }
        } catch {
            reject(record, reason: "\(error)")
        }
    }

    private func reject(_ record: ConsumedRecord, reason: String) {
        refusedCounter.increment()
        let first = state.withLock { s in
            s.rejected += 1
            return s.rejected == 1
        }
        logger.log(
            level: first ? .warning : .debug, "population record left out",
            metadata: [
                "topic": "\(record.topic)", "partition": "\(record.partition)", "offset": "\(record.offset)",
                "reason": "\(reason)",
            ])
    }

    /// The parts read within `maxAge` (ms) of `now` (wall clock), and the version they are at.
    public func snapshot(now: Int64, maxAge: Int64) -> (parts: [Int32: PopulationPart], version: Int) {
        state.withLock { s in
            (s.parts.filter { now &- (s.readAt[$0.key] ?? .min) <= maxAge }, s.version)
        }
    }

    /// The version of the parts (it changes with them), and of what judges days (a part came, went
    /// or sealed another day).
    public var versions: (all: Int, seals: Int) { state.withLock { ($0.version, $0.sealVersion) } }

    /// Records left out so far.
    public var rejected: Int { state.withLock { $0.rejected } }

    /// The part of `partition`, if one was read.
    public func part(of partition: Int32) -> PopulationPart? { state.withLock { $0.parts[partition] } }
}

/// The population as one scorer process sees it live: the parts of its own partitions, counted as
/// their events are applied, and the other partitions' parts read from the population topic
/// (`PopulationTable`), summed and judged as one (`PopulationActivity.takeCounts`). Used on the
/// worker's thread only.
///
/// A day is judged once every live part has sealed it: this process's own, and every part read
/// from the topic within `deadAfterMilliseconds` (each owner publishes its part at least every
/// minute, so a part not read again that long has lost its owner: it no longer holds the others,
/// and its counts no longer add up). A partition behind the others (a backlog) is waited for: a
/// day judged on part of its counts would stay judged wrong. A re-scoring time waits for the other
/// live parts to reach it at most `maxWaitMilliseconds` of the partition's own time, so a partition
/// behind delays the others' silence by that much at most.
public final class ScorerPopulation {
    /// An own partition's part, with when it was last published and whether it changed since.
    final class Own {
        var part: PopulationPart
        var publishedAt: Int64
        var dirty = false
        /// It sealed a day since it was last published.
        var sealedSincePublished = false
        /// Its time reached a new re-scoring time since it was last published.
        var reachedSincePublished = false

        init(part: PopulationPart, publishedAt: Int64) {
            self.part = part
            self.publishedAt = publishedAt
        }
    }

    /// The parts read from the topic.
    public let table: PopulationTable
    /// Reads the topic into `table` (nil when the table is fed another way, as in tests).
    public let follower: TopicFollower?
    /// The population's settings (`population.min_accounts`, `population.dip_below`).
    public let minAccounts: Int
    public let dipBelow: Double
    /// How far (partition time, ms) one partition's re-scoring waits for the others to reach a
    /// re-scoring time.
    public let maxWaitMilliseconds: Int64
    /// How long (wall clock, ms) a part read from the topic stays live without being read again.
    public let deadAfterMilliseconds: Int64
    /// The parts of the partitions this process owns.
    private(set) var own: [Int32: Own] = [:]
    private var ownVersion = 0
    private var ownSealVersion = 0
    private var merged: PopulationActivity
    /// The live parts' reached times (the topic's copies of the own ones replaced by them).
    private var reached: [Int32: Int64] = [:]
    /// What `merged` and `reached` were taken from: the table's versions, the own parts' versions,
    /// when (wall clock).
    private var takenAt: (table: Int, tableSeals: Int, own: Int, ownSeals: Int, now: Int64) = (-1, -1, -1, -1, .min)

    private let partsGauge: Gauge

    /// The live population of `table` (read by `follower`), judged with `minAccounts` and
    /// `dipBelow`; the live parts are reported in `fleet_scorer_population_parts` of `factory`.
    public init(
        table: PopulationTable, follower: TopicFollower?, minAccounts: Int, dipBelow: Double,
        maxWaitMilliseconds: Int64 = 3_600_000, deadAfterMilliseconds: Int64 = 300_000,
        factory: any MetricsFactory = MetricsSystem.factory
    ) {
        partsGauge = Gauge(label: "fleet_scorer_population_parts", factory: factory)
        self.table = table
        self.follower = follower
        self.minAccounts = minAccounts
        self.dipBelow = dipBelow
        self.maxWaitMilliseconds = maxWaitMilliseconds
        self.deadAfterMilliseconds = deadAfterMilliseconds
        merged = PopulationActivity(minAccounts: minAccounts, dipBelow: dipBelow)
    }

    /// The part of an own partition.
    public func ownPart(of partition: Int32) -> PopulationPart? { own[partition]?.part }

    /// Takes `partition` on with `part` (what its last owner published).
    public func adopt(_ partition: Int32, part: PopulationPart, now: Int64) {
        own[partition] = Own(part: part, publishedAt: now)
        ownSealed()
    }

    /// Lets `partition` go.
    func drop(_ partition: Int32) {
        own[partition] = nil
        ownSealed()
    }

    /// An own part's time moved (a reached time): the sums are taken again at the next full
    /// `view(now:)`. (Counts alone change with every event; they are summed at the next such change,
    /// as a re-scoring asks for them.)
    private func ownChanged() { ownVersion &+= 1 }

    /// An own part sealed another day (or came or went): days may be judged.
    private func ownSealed() {
        ownVersion &+= 1
        ownSealVersion &+= 1
    }

    /// Counts `event`, just applied to its account, in `partition`'s part (when it is an activity).
    func count(_ event: AccountEvent, in partition: Int32, activeBefore: Int32, activeAfter: Int32) {
        guard event.type.isActivity, let mine = own[partition] else { return }
        mine.part.count(applied: event, activeBefore: activeBefore, activeAfter: activeAfter)
        mine.dirty = true
    }

    /// Seals `partition`'s part through the day before `day` (as a replay seals at the first event
    /// of a later day), when it has not yet.
    func seal(_ partition: Int32, before day: Int64) {
        guard let mine = own[partition], day - 1 > mine.part.sealedThrough else { return }
        mine.part.seal(through: day - 1)
        mine.dirty = true
        mine.sealedSincePublished = true
        ownSealed()
    }

    /// Notes that `partition`'s time reached the re-scoring time `time`; false when it had already.
    func reach(_ partition: Int32, at time: Int64) -> Bool {
        guard let mine = own[partition], mine.part.reachedMilliseconds.map({ time > $0 }) ?? true else {
            return false
        }
        mine.part.reachedMilliseconds = time
        mine.dirty = true
        mine.reachedSincePublished = true
        ownChanged()
        return true
    }

    /// `partition`'s part has just been published at `now`.
    func published(_ partition: Int32, at now: Int64) {
        guard let mine = own[partition] else { return }
        mine.publishedAt = now
        mine.dirty = false
        mine.sealedSincePublished = false
        mine.reachedSincePublished = false
    }

    /// Takes the sums and the reached times of the live parts again: with `counts`, when the parts
    /// changed at all or the last take is 10 s old (a part may have died since); without, only when
    /// what judges days changed (a part came, went or sealed another day).
    private func take(now: Int64, counts: Bool) {
        let versions = table.versions
        let current =
            counts
            ? takenAt.table == versions.all && takenAt.own == ownVersion && now &- takenAt.now < 10_000
                && now >= takenAt.now
            : takenAt.tableSeals == versions.seals && takenAt.ownSeals == ownSealVersion
        if current { return }
        let (read, _) = table.snapshot(now: now, maxAge: deadAfterMilliseconds)
        var parts = read
        for (partition, mine) in own { parts[partition] = mine.part }
        // A part with no time and no counts yet (a partition that has seen no event) holds no one.
        let sealThrough =
            parts.values.filter { !$0.isEmpty }.map(\.sealedThrough).min() ?? .min
        merged.takeCounts(of: parts.values.map(\.counts), sealThrough: sealThrough)
        reached = parts.compactMapValues(\.reachedMilliseconds)
        partsGauge.record(parts.count)
        // The versions read before the parts: a change in between is taken at the next call.
        takenAt = (versions.all, versions.seals, ownVersion, ownSealVersion, now)
    }

    /// The population at `now` (wall clock): the sums of every live part, sealed through the last
    /// day every live part has sealed. With `counts` false (an event's scoring, which reads only
    /// judged days), the sums are taken again only when days may be judged.
    public func view(now: Int64, counts: Bool = true) -> PopulationActivity {
        take(now: now, counts: counts)
        return merged
    }

    /// The earliest re-scoring time the other live parts have reached at `now` (nil: none to wait
    /// for).
    func othersReached(excluding partition: Int32, now: Int64) -> Int64? {
        take(now: now, counts: true)
        var earliest: Int64?
        for (p, time) in reached where p != partition { earliest = min(earliest ?? time, time) }
        return earliest
    }
}
