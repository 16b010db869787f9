import Contracts
import HealthModel
import Kafka
import Synchronization
import WorkerRuntime

extension AccountState: StateValue {
    public init(stateBytes: [UInt8]) throws(Rejection) {
        do {
            try self.init(decoding: stateBytes)
        } catch {
            throw Rejection(code: "bad_state", reason: "\(error)")
        }
    }

    public var stateBytes: [UInt8] { encode() }
}

/// ingest-scorer's processor: `account-events` in, `health-scores` out, per-account state in the
/// changelog. Bad events are rejected with the parser's reason (to `account-events-dlt`), and so
/// is an event dated beyond the wall clock plus the allowed skew: it never moves time.
///
/// Time: the partition's event-time watermark (saved with its state by the runtime) is the largest
/// `occurred_at` seen. Idle accounts are re-scored at each re-scoring time the partition's time
/// passes (every `rescoreEveryHours` of the scoring configuration, on the hour: hourly by default,
/// UTC midnights among them). A re-scoring that emits nothing and stays on the same day keeps the
/// moved state in memory only (`PartitionState.refresh`): the changelog is written at midnights and
/// when a record is emitted, as before, not every hour. Records move that time by event time only (the watermark minus `allowedLateness`); in
/// `live` mode the timer also moves it on the wall clock once the partition has caught up, so an
/// account that goes quiet loses health even when its whole partition is quiet; in replay
/// (`live == false`, `TIME_MODE=replay`) time is event time only, as `fleet-admin replay` does.
/// One record never triggers re-scorings over more than `maxMidnightsPerStep` days of the partition.
///
/// The live timer's clock is bounded by evidence (`ProcessingContext.evidenceBoundedNow`): the wall
/// clock, but never more than `MAX_CLOCK_SKEW_MS` ahead of the newest Kafka timestamp of the
/// partition's records (stamped by their producers or the broker), carried forward by the time
/// elapsed since it was read. So a pod whose clock runs hours ahead re-scores idle accounts at the
/// midnights the producers' clock has passed, less the lateness, and its score records are never
/// dated further ahead than the evaluator's own `future_event_time` bound accepts; a quiet partition
/// still sees silence, since the bound moves on with the clock. The clock is the runtime's `now`
/// (the `ProcessorHarness` injects it in tests): the processor never reads the system clock.
public final class ScorerProcessor: RecordProcessor {
    public let scorer: HealthScorer
    public let parser: EventParser
    public let scoresTopic: String
    public let allowedLatenessMs: Int64
    public let live: Bool
    /// Bound on the midnights re-scored in one step (the day ring holds no more history than this).
    public let maxMidnightsPerStep: Int64
    /// Per partition: the next re-scoring time (ms since the epoch).
    private var nextBoundaryMs: [Int32: Int64] = [:]
    /// The fleet-wide population (nil when `population.min_accounts` is 0): this process's
    /// partitions count their activity into their parts and publish them to `populationTopic`.
    public var population: ScorerPopulation?
    /// Where the parts are published (with its prefix).
    public var populationTopic = FleetTopics.scorerPopulation
    /// How often (wall clock) a part whose counts changed is published between re-scoring times.
    public var populationPublishEveryMilliseconds: Int64 = 10_000
    /// How often (wall clock) a part is published even when nothing changed: the other scorers
    /// take a part not read again for `ScorerPopulation.deadAfterMilliseconds` as ownerless.
    public var populationHeartbeatMilliseconds: Int64 = 60_000
    /// How often (wall clock) a part whose time reached a new re-scoring time is published, at most
    /// (a day sealed is published at once).
    public var populationReachedEveryMilliseconds: Int64 = 100

    public init(
        scorer: HealthScorer = HealthScorer(), parser: EventParser = EventParser(), scoresTopic: String,
        allowedLatenessMs: Int64 = 3_600_000, live: Bool = true, maxMidnightsPerStep: Int64 = 35
    ) {
        self.scorer = scorer
        self.parser = parser
        self.scoresTopic = scoresTopic
        self.allowedLatenessMs = allowedLatenessMs
        self.live = live
        self.maxMidnightsPerStep = maxMidnightsPerStep
    }

    public func partitionAssigned(context: ProcessingContext<AccountState>) {
        // Resume where the last owner's saved watermark left time.
        let step = Int64(scorer.config.rescoreEveryHours) * 3_600_000
        nextBoundaryMs[context.partition] = context.watermark.map {
            HealthScorer.boundary(after: Self.minus($0, allowedLatenessMs), step: step)
        }
        // The part the last owner published (read before the partition's records flow).
        population?.adopt(
            context.partition, part: context.assignmentData as? PopulationPart ?? PopulationPart(),
            now: context.wallClockMilliseconds)
    }

    /// With a population: the partition's part as the population topic holds it, once the topic's
    /// follower has read what the topic held at the assignment (a restore fails, and is retried,
    /// when it cannot within its bound). The runtime asks for this reader once per restore and calls
    /// it per partition: the barrier is passed once for all of them (every last owner published its
    /// part before the restore began).
    public var assignmentReader: (@Sendable (Int32) throws -> any Sendable)? {
        guard let population, let follower = population.follower else { return nil }
        let table = population.table
        let passed = Mutex(false)
        return { partition in
            follower.start { table.receive($0) }
            try passed.withLock { passed in
                guard !passed else { return }
                guard follower.waitCaughtUp() else {
                    throw KafkaError(
                        kind: .retriable,
                        message:
                            "population topic \(follower.topic) not read to its end within \(follower.catchUpTimeout)")
                }
                passed = true
            }
            return table.part(of: partition) ?? PopulationPart()
        }
    }

    /// The last publication of the partition's part before it goes (its counts since the last one).
    public func partitionDraining(context: ProcessingContext<AccountState>) {
        publishPart(of: context.partition, context: context, when: .changed)
    }

    public func partitionRevoked(context: ProcessingContext<AccountState>) {
        nextBoundaryMs[context.partition] = nil
        population?.drop(context.partition)
    }

    /// The worker is starting: the population topic's reader starts, so a partition given to this
    /// replica (a scale-up) finds it read instead of opening it then.
    public func workerStarting() {
        guard let population, let follower = population.follower else { return }
        let table = population.table
        follower.start { table.receive($0) }
    }

    /// The worker has stopped: the population topic's reader stops and frees its handle.
    public func workerStopped() {
        population?.follower?.stop()
    }

    /// Events whose key is not their `account_id`: re-published keyed by it, not scored here.
    public var misroutedEvents = MisroutedEvents()

    /// The input topics of the inputs file: their records are normalised and re-published onto
    /// `account-events` keyed by account id, and scored from there (nil without an inputs file).
    public var inputs: InputRepartition?

    public func process(_ record: ConsumedRecord, context: ProcessingContext<AccountState>) throws(Rejection) {
        if let inputs, record.topic != inputs.accountEventsTopic {
            if let copy = try inputs.copy(of: record) { context.emit(copy) }
            return
        }
        guard let value = record.value else { throw Rejection(code: "empty", reason: "record has no value") }
        let event: AccountEvent
        do {
            event = try parser.parse(value)
        } catch {
            throw Rejection(code: error.code.rawValue, reason: error.reason)
        }
        // Not keyed by its account (another id, or none): scored here it would fork the account's
        // state across partitions. Re-published keyed by its account id instead, as a repartition
        // topic does; its offset is committed once the copy is acknowledged.
        if let copy = try misroutedEvents.copy(of: record, accountId: event.accountId) {
            context.emit(copy)
            return
        }
        try context.observeEventTime(event.occurredAt.millisecondsSinceEpoch)
        let id = event.accountId
        let day = event.occurredAt.epochDay
        // As a replay does: the first event of a later day seals the days before it.
        let view = populationView(sealingBefore: day, context: context, counts: false)
        // The account's state changes where the store holds it (a copy would copy its arrays on
        // every event); a new account's is made, then marked below like any other.
        let scorer = self.scorer
        var active: (before: Int32, after: Int32) = (.min, .min)
        let outcome =
            context.state.modify(id) { state in
                active.before = state.lastActivityDay
                defer { active.after = state.lastActivityDay }
                return scorer.apply(event, to: &state, population: view)
            }
            ?? {
                var state = scorer.makeState(accountId: id)
                let outcome = scorer.apply(event, to: &state, population: view)
                active.after = state.lastActivityDay
                if outcome.disposition == .applied { context.state.refresh(id, state) }
                return outcome
            }()
        switch outcome.disposition {
        case .applied:
            context.state.markWritten(id)
            population?.count(
                event, in: context.partition, activeBefore: active.before, activeAfter: active.after)
        case .duplicate:
            break  // counted once already: a redelivery or a re-publication
        case .tooLate:
            // Older than the window of remembered event ids: it cannot be checked for duplicates,
            // so it is not counted (`apply` changed nothing); it goes to the DLT rather than vanish.
            throw Rejection(
                code: "too_late",
                reason: "occurred_at: older than the \(scorer.config.dedupDays)-day dedup window of account \(id)")
        }
        if let score = outcome.record {
            // The event is applied either way; a score record that cannot be encoded (a value the
            // JSON encoder refuses) goes to the DLT with its reason instead of the scores topic.
            do {
                context.emit(OutgoingRecord(topic: scoresTopic, key: id, value: try Self.encode(score)))
            } catch {
                context.emitDeadLetter(key: Array(id.utf8), value: nil, rejection: error)
            }
        }
        // Records move time by their own event time only: a backlog (after a restart, a rebalance,
        // an outage) is scored as it happened, never jumped to today and then refused as late.
        rescoreIdle(until: context.watermark.map { $0 - allowedLatenessMs }, context: context)
    }

    /// Read again after a crash and already in its account's state: only its time counts.
    public func alreadyApplied(_ record: ConsumedRecord, context: ProcessingContext<AccountState>) {
        if let inputs, record.topic != inputs.accountEventsTopic { return }
        guard let value = record.value, let event = try? parser.parse(value) else { return }
        guard (try? context.observeEventTime(event.occurredAt.millisecondsSinceEpoch)) != nil else { return }
        // Its time seals days as it did; its activity is not counted again (the part published
        // since holds it, up to the last publication before the crash).
        _ = populationView(sealingBefore: event.occurredAt.epochDay, context: context, counts: false)
        rescoreIdle(until: context.watermark.map { Self.minus($0, allowedLatenessMs) }, context: context)
    }

    /// Live, the timer lets the wall clock move time too, so a partition that went quiet still
    /// sees its accounts' silence: up to `max(watermark, bounded wall clock) - allowedLateness`, and
    /// only once the partition has caught up with its input (while a backlog is read, time follows
    /// the events, or every account would jump to today and the rest of the backlog be "too late").
    /// The wall clock is bounded by the records' Kafka timestamps (`evidenceBoundedNow`), so a pod
    /// whose clock runs ahead stamps no score record beyond what the evaluator accepts.
    public func tick(nowMilliseconds: Int64, context: ProcessingContext<AccountState>) {
        defer { publishPart(of: context.partition, context: context, when: .due) }
        guard live, context.caughtUp else {
            // Replay time, or a backlog: a re-scoring held for the other partitions goes on by
            // event time once they have reached it.
            rescoreIdle(until: context.watermark.map { Self.minus($0, allowedLatenessMs) }, context: context)
            return
        }
        let wall = Self.minus(context.evidenceBoundedNow(nowMilliseconds), allowedLatenessMs)
        let eventTime = context.watermark.map { Self.minus($0, allowedLatenessMs) } ?? wall
        rescoreIdle(until: max(eventTime, wall), context: context)
    }

    /// The population with the partition's part sealed through the day before `day` (as a replay
    /// seals at the first event of a later day).
    private func populationView(
        sealingBefore day: Int64, context: ProcessingContext<AccountState>, counts: Bool = true
    ) -> PopulationActivity? {
        guard let population else { return nil }
        population.seal(context.partition, before: day)
        return population.view(now: context.wallClockMilliseconds, counts: counts)
    }

    /// When a partition's part is published.
    enum Publication {
        /// Its time reached a new re-scoring time (the others may be waiting for it): at once when
        /// it sealed a day since the last publication, else once `populationReachedEveryMilliseconds`
        /// after it (a backlog reaches hours in milliseconds).
        case reached
        /// Its counts changed since the last publication (the partition is going).
        case changed
        /// Its counts changed and the last publication is `populationPublishEveryMilliseconds` old,
        /// its time reached a re-scoring time and it is `populationReachedEveryMilliseconds` old, or
        /// it is `populationHeartbeatMilliseconds` old in any case (a timer's tick).
        case due
    }

    /// Publishes the partition's part to `populationTopic` (key: the partition number) as `when` says.
    private func publishPart(of partition: Int32, context: ProcessingContext<AccountState>, when: Publication) {
        guard let own = population?.own[partition] else { return }
        let now = context.wallClockMilliseconds
        let age = Self.minus(now, own.publishedAt)
        let publish =
            switch when {
            case .reached:
                own.sealedSincePublished || age >= populationReachedEveryMilliseconds || age < 0
            case .changed: own.dirty
            case .due:
                (own.dirty && age >= populationPublishEveryMilliseconds)
                    || (own.reachedSincePublished && age >= populationReachedEveryMilliseconds)
                    || age >= populationHeartbeatMilliseconds || age < 0
            }
        guard publish else { return }
        context.emit(OutgoingRecord(topic: populationTopic, key: String(partition), value: own.part.encoded()))
        population?.published(partition, at: now)
    }

    /// `a - b`, saturating (a restored watermark is input: it must not trap).
    static func minus(_ a: Int64, _ b: Int64) -> Int64 {
        let (difference, overflow) = a.subtractingReportingOverflow(b)
        return overflow ? (b > 0 ? .min : .max) : difference
    }

    private func rescoreIdle(until time: Int64?, context: ProcessingContext<AccountState>) {
        guard let time else { return }
        let p = context.partition
        let step = Int64(scorer.config.rescoreEveryHours) * 3_600_000
        let lastDue = HealthScorer.floorDiv(time, step) * step
        guard let boundary = nextBoundaryMs[p] else {
            nextBoundaryMs[p] = HealthScorer.boundary(after: time, step: step)
            return
        }
        guard lastDue >= boundary, boundary != .max else { return }
        var until = lastDue
        if let population, population.own[p] != nil {
            // The part's time reached `lastDue`: published, so the other partitions' re-scorings
            // that wait for it go on.
            if population.reach(p, at: lastDue) { publishPart(of: p, context: context, when: .reached) }
            // A re-scoring waits until every other live partition has reached its time (their
            // counts of the hours before it are in), at most `maxWaitMilliseconds` of this one's.
            if let others = population.othersReached(excluding: p, now: context.wallClockMilliseconds) {
                until = min(lastDue, max(others, Self.minus(lastDue, population.maxWaitMilliseconds)))
            }
        }
        // After a long pause only the latest days matter: older ones are past the day ring.
        let stepsPerDay = Timestamp.millisecondsPerDay / step
        var at = max(boundary, Self.minus(lastDue, (max(1, maxMidnightsPerStep) * stepsPerDay - 1) * step))
        while at <= until, at != .max {
            let due = Timestamp(millisecondsSinceEpoch: at)
            let scorer = self.scorer
            // As a replay does: the days before the re-scoring time's are sealed, and every idle
            // account asks the population the same question at this hour: answered once.
            var view = populationView(sealingBefore: due.epochDay, context: context)
            view?.memoizeShareSoFar(
                day: due.epochDay, beforeHour: Int((at - due.epochDay * Timestamp.millisecondsPerDay) / 3_600_000))
            // In key order (sorted again only when an account came or went), in place: most
            // accounts at most hours change only their clock (memory only, as a restore may lose
            // it); a record or a new day (its buckets cleared) is written.
            context.state.modifyEach { id, state in
                let day = state.validAt?.epochDay
                let score = scorer.advance(to: due, state: &state, population: view)
                if let score {
                    do throws(Rejection) {
                        context.emit(OutgoingRecord(topic: scoresTopic, key: id, value: try Self.encode(score)))
                    } catch {
                        // Emitted as far as the state knows; the record goes to the DLT with its reason.
                        context.emitDeadLetter(key: Array(id.utf8), value: nil, rejection: error)
                    }
                }
                return score != nil || state.validAt?.epochDay != day
            }
            at = HealthScorer.boundary(after: at, step: step)
        }
        nextBoundaryMs[p] = at
    }

    static func encode(_ score: ScoreRecord) throws(Rejection) -> [UInt8] {
        do {
            return try ScoreRecordWriter.encode(score)
        } catch {
            throw Rejection(
                code: "output_not_encodable",
                reason: "score record of \(score.accountId) could not be encoded: \(error)")
        }
    }
}
