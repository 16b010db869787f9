import Contracts

/// Scores a stream of `account-events` JSON lines in event time, as `fleet-admin replay` does,
/// without I/O: lines in, records out.
///
/// The watermark: the largest `occurred_at` seen minus `allowedLateness`. Each time it passes a
/// re-scoring time (every `rescoreEveryHours` of the scoring configuration, on the hour, UTC
/// midnights among them), every known account is advanced to it (idle re-scoring), so an account
/// that went quiet loses health hour by hour even though it sends nothing. Accounts are advanced
/// in the order they were first seen, so the output is deterministic.
///
/// The population (`PopulationActivity`, unless `population.min_accounts` is 0): every activity
/// event is counted in its day's fleet-wide total; the first event of a later day (or advancing to a
/// later day) seals every day before it, so a day is judged as a shared dip before any account is
/// scored on the day after it. Events of a sealed day still count for their account, not for the
/// population.
///
/// With a reference time (`now`, the offline stand-in for the wall clock), an event dated beyond it
/// plus the allowed skew is refused as the ingest-scorer refuses it (`FutureTimeBound`: code
/// `future_event_time`, the same reason) with its line number, and changes nothing: the rest of the
/// history scores exactly as if that line were absent.
public struct Replay: Sendable {
    /// A line that was refused: its number (1-based, blank lines counted), code and reason.
    public struct RejectedLine: Sendable, Hashable {
        public var number: Int
        public var code: String
        public var reason: String

        public init(number: Int, code: String, reason: String) {
            self.number = number
            self.code = code
            self.reason = reason
        }
    }

    /// What a replay saw.
    public struct Summary: Sendable, Hashable {
        /// Non-blank lines read.
        public var events = 0
        public var applied = 0
        public var duplicates = 0
        public var tooLate = 0
        /// Rejected lines by reason ("occurred_at: not RFC 3339": 3).
        public var rejected: [String: Int] = [:]
        public var accounts = 0
        /// Accounts by the zone of their latest record.
        public var zones: [Zone: Int] = [:]
        public var records = 0
        /// The first `maxRejectedLinesKept` refused lines, with their numbers (all are counted in
        /// `rejected`); an event refused through `apply` has no line and is only counted.
        public var rejectedLines: [RejectedLine] = []

        public var rejectedTotal: Int { rejected.values.reduce(0, +) }

        /// An empty summary.
        public init() {}

        /// A readable report, one fact per line, in a fixed order.
        public var lines: [String] {
            var out = [
                "events: \(events)", "applied: \(applied)", "duplicates: \(duplicates)", "too late: \(tooLate)",
                "rejected: \(rejectedTotal)",
            ]
            for (reason, n) in rejected.sorted(by: { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }) {
                out.append("  \(reason): \(n)")
            }
            out.append("accounts: \(accounts)")
            out.append("zones: " + Zone.allCases.map { "\($0.rawValue) \(zones[$0] ?? 0)" }.joined(separator: ", "))
            out.append("records: \(records)")
            return out
        }
    }

    public let scorer: HealthScorer
    public let parser: EventParser
    public let allowedLatenessMs: Int64
    /// The future-time bound, applied when `now` is set.
    public let futureTimeBound: FutureTimeBound
    /// The reference time of the bound (nil: no bound, as in the library's tests and benchmarks).
    public let now: Timestamp?
    /// How many refused lines `summary.rejectedLines` keeps.
    public static let maxRejectedLinesKept = 1000
    private var counts = Summary()
    private var lineNumber = 0

    /// What the replay saw so far (zones from each account's latest record).
    public var summary: Summary {
        var s = counts
        for state in states { if let zone = state.lastEmittedZone { s.zones[zone, default: 0] += 1 } }
        return s
    }
    private var index: [String: Int] = [:]
    private var states: [AccountState] = []
    private var maxSeenMs: Int64 = .min
    private var nextBoundaryMs: Int64 = .max
    /// The whole population's activity (nil when the scoring configuration turns it off).
    public private(set) var population: PopulationActivity?

    /// - Parameters:
    ///   - now: the reference time of the future-time bound (the wall clock at run time, or the
    ///     command's `--now`); nil applies no bound.
    ///   - futureTimeBound: the allowed skew (the runtime's `MAX_CLOCK_SKEW_MS`, 10 minutes).
    public init(
        scorer: HealthScorer = HealthScorer(), parser: EventParser = EventParser(),
        allowedLatenessMs: Int64 = 3_600_000,
        futureTimeBound: FutureTimeBound = FutureTimeBound(), now: Timestamp? = nil
    ) {
        self.scorer = scorer
        self.parser = parser
        self.allowedLatenessMs = allowedLatenessMs
        self.futureTimeBound = futureTimeBound
        self.now = now
        population = PopulationActivity(config: scorer.config)
    }

    /// The bound's reason when `event` is dated beyond `now` plus the allowed skew, nil otherwise
    /// (always nil without `now`).
    public func futureTimeViolation(_ event: AccountEvent) -> String? {
        guard let now else { return nil }
        return futureTimeBound.violation(event.occurredAt.millisecondsSinceEpoch, now: now.millisecondsSinceEpoch)
    }

    /// Non-blank lines read so far (cheap; `summary` walks every account).
    public var eventsRead: Int { counts.events }

    /// Ids of the accounts seen, in first-seen order.
    public var accountIds: [String] { states.map(\.accountId) }

    /// The state of an account.
    public func state(of accountId: String) -> AccountState? { index[accountId].map { states[$0] } }

    /// Processes one line (blank lines are skipped); `emit` gets the records it causes, in order.
    public mutating func process(line: UnsafeBufferPointer<UInt8>, emit: (ScoreRecord) -> Void) {
        lineNumber += 1
        var blank = true
        for c in line where c != 0x20 && c != 0x0A && c != 0x0D && c != 0x09 {
            blank = false
            break
        }
        guard !blank else { return }
        counts.events += 1
        let event: AccountEvent
        do {
            event = try parser.parse(line)
        } catch {
            reject(code: error.code.rawValue, reason: error.reason, line: lineNumber)
            return
        }
        if let reason = futureTimeViolation(event) {
            reject(code: FutureTimeBound.code, reason: reason, line: lineNumber)
            return
        }
        applyAdmitted(event, emit: emit)
    }

    /// Processes an already parsed event (refused, and only counted, beyond the future-time bound).
    public mutating func apply(_ event: AccountEvent, emit: (ScoreRecord) -> Void) {
        if let reason = futureTimeViolation(event) {
            reject(code: FutureTimeBound.code, reason: reason, line: nil)
            return
        }
        applyAdmitted(event, emit: emit)
    }

    private mutating func reject(code: String, reason: String, line: Int?) {
        counts.rejected[reason, default: 0] += 1
        if let line, counts.rejectedLines.count < Self.maxRejectedLinesKept {
            counts.rejectedLines.append(RejectedLine(number: line, code: code, reason: reason))
        }
    }

    private mutating func applyAdmitted(_ event: AccountEvent, emit: (ScoreRecord) -> Void) {
        let slot: Int
        if let k = index[event.accountId] {
            slot = k
        } else {
            slot = states.count
            index[event.accountId] = slot
            states.append(scorer.makeState(accountId: event.accountId))
            counts.accounts += 1
        }
        let day = event.occurredAt.epochDay
        if population != nil, day - 1 > population!.sealedThrough { population!.seal(through: day - 1) }
        let activeBefore = states[slot].lastActivityDay
        let outcome = scorer.apply(event, to: &states[slot], population: population)
        if population != nil, outcome.disposition == .applied {
            population!.count(applied: event, activeBefore: activeBefore, activeAfter: states[slot].lastActivityDay)
        }
        switch outcome.disposition {
        case .applied: counts.applied += 1
        case .duplicate: counts.duplicates += 1
        case .tooLate: counts.tooLate += 1
        }
        if let record = outcome.record {
            count(record)
            emit(record)
        }
        let ms = event.occurredAt.millisecondsSinceEpoch
        if ms > maxSeenMs {
            maxSeenMs = ms
            if nextBoundaryMs == .max { nextBoundaryMs = HealthScorer.boundary(after: ms, step: stepMs) }
            advanceWatermark(emit: emit)
        }
    }

    /// Advances every account to `time` (for example the end of the replayed period).
    public mutating func advanceAll(to time: Timestamp, emit: (ScoreRecord) -> Void) {
        if population != nil, time.epochDay - 1 > population!.sealedThrough {
            population!.seal(through: time.epochDay - 1)
        }
        // Every idle account asks the population the same question at this hour: answer it once.
        let day = time.epochDay
        let hour = Int((time.millisecondsSinceEpoch - day * Timestamp.millisecondsPerDay) / 3_600_000)
        population?.memoizeShareSoFar(day: day, beforeHour: hour)
        for k in states.indices {
            if let record = scorer.advance(to: time, state: &states[k], population: population) {
                count(record)
                emit(record)
            }
        }
    }

    private mutating func advanceWatermark(emit: (ScoreRecord) -> Void) {
        let watermark = maxSeenMs - allowedLatenessMs
        while nextBoundaryMs != .max, nextBoundaryMs <= watermark {
            advanceAll(to: Timestamp(millisecondsSinceEpoch: nextBoundaryMs), emit: emit)
            nextBoundaryMs = HealthScorer.boundary(after: nextBoundaryMs, step: stepMs)
        }
    }

    /// The time between re-scorings.
    private var stepMs: Int64 { Int64(scorer.config.rescoreEveryHours) * 3_600_000 }

    private mutating func count(_ record: ScoreRecord) {
        counts.records += 1
    }

    /// Replays complete in-memory input and returns the records as JSON lines (the bytes of
    /// `RecordCoding`, sorted keys, written by `ScoreRecordWriter`) with the summary. The core of `fleet-admin replay`, callable from tests.
    public static func run(
        _ input: [UInt8], scorer: HealthScorer = HealthScorer(), allowedLatenessMs: Int64 = 3_600_000,
        futureTimeBound: FutureTimeBound = FutureTimeBound(),
        now: Timestamp? = nil
    ) throws -> (output: [UInt8], summary: Summary) {
        var replay = Replay(
            scorer: scorer, allowedLatenessMs: allowedLatenessMs, futureTimeBound: futureTimeBound,
            now: now)
        var output: [UInt8] = []
        var records: [ScoreRecord] = []
        input.withUnsafeBufferPointer { buffer in
            var start = 0
            while start < buffer.count {
                var end = start
                while end < buffer.count, buffer[end] != 0x0A { end += 1 }
                replay.process(line: UnsafeBufferPointer(rebasing: buffer[start..<end])) { records.append($0) }
                start = end + 1
            }
        }
        for record in records {
            try ScoreRecordWriter.appendLine(record, to: &output)
        }
        return (output, replay.summary)
    }
}

extension AccountState {
    /// The zone of the latest emitted record (nil before the first record).
    public var lastEmittedZone: Zone? { lastScore >= 0 ? Zone.allCases[Int(min(lastZone, 2))] : nil }

    /// The score of the latest emitted record.
    public var lastEmittedScore: Int? { lastScore >= 0 ? Int(lastScore) : nil }
}
