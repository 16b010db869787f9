import AlertRules
import Contracts
import HealthModel

/// Runs history through the fleet's domain code in event time: `account-events` lines -> the health
/// model (`Replay`, as `fleet-admin replay` and the scorer stage do: idle accounts re-scored at each
/// UTC midnight the watermark passes) -> the rules engine (as the evaluator stage) -> the
/// destinations' quiet hours and digests (`PartitionEvaluator`'s `DestinationTimeline`, the
/// dispatcher's `DestinationSchedule` in event time: what is due is released before each later
/// score record is evaluated) -> the alert records the dispatcher sends.
///
/// Pure: lines in, a `BacktestResult` out; no clock, no I/O. The same input gives the same result.
/// An event dated beyond `Options.now` plus the runtime's allowed skew (`FutureTimeBound`) is a bad
/// line (`future_event_time`, with its number), as the ingest-scorer dead-letters it: it never
/// moves time, and the rest of the history gives the alerts it gives without that line.
/// Several rule sets can run over the same scores (a what-if comparison): each has its own evaluator.
public struct Backtest: Sendable {
    /// The period and the limits of a backtest.
    public struct Options: Sendable, Hashable {
        /// Alerts raised before this are not reported; events before it still build the baselines
        /// (the warm-up). Nil: from the start of the input.
        public var from: Timestamp?
        /// Events after this are not applied; at the end, every account is advanced to it (idle
        /// re-scoring at each midnight up to it) and what is due by then is released. Nil: the
        /// latest event time.
        public var to: Timestamp?
        /// The scorer's watermark lateness (the stage's default: one hour).
        public var allowedLatenessMs: Int64
        /// How many bad lines are kept with their numbers (all are counted).
        public var maxBadLinesKept: Int
        /// The reference time of the future-time bound: the wall clock at run time for
        /// `fleet-admin backtest`, or its `--now`. Nil: no bound (the library stays clock-free).
        public var now: Timestamp?
        /// The allowed skew beyond `now` (the runtime's `MAX_CLOCK_SKEW_MS`, 10 minutes).
        public var futureTimeBound: FutureTimeBound

        /// The whole history, the stage's lateness and up to 1,000 bad lines kept, unless told otherwise.
        public init(
            from: Timestamp? = nil, to: Timestamp? = nil, allowedLatenessMs: Int64 = 3_600_000,
            maxBadLinesKept: Int = 1000,
            now: Timestamp? = nil, futureTimeBound: FutureTimeBound = FutureTimeBound()
        ) {
            self.from = from
            self.to = to
            self.allowedLatenessMs = allowedLatenessMs
            self.maxBadLinesKept = maxBadLinesKept
            self.now = now
            self.futureTimeBound = futureTimeBound
        }
    }

    /// The period and limits of this backtest.
    public let options: Options
    private var replay: Replay
    private var evaluators: [PartitionEvaluator]
    private var result = BacktestResult()
    private var seriesIndex: [String: Int] = [:]
    private var pending: [ScoreRecord] = []

    /// A backtest of the rule sets `engines` (at least one) over the scores of `scorer`. Quiet
    /// hours and digests follow each rule set's `destinations:` policies, overridden field by field
    /// by `destinationsFile` (the dispatcher's destinations file, as `DestinationPolicy.resolved`).
    public init(
        scorer: HealthScorer = HealthScorer(), engines: [RulesEngine],
        destinationsFile: [String: DestinationPolicy] = [:], options: Options = Options()
    ) {
        precondition(!engines.isEmpty, "a backtest needs a rule set")
        self.options = options
        replay = Replay(scorer: scorer, allowedLatenessMs: options.allowedLatenessMs)
        evaluators = engines.map {
            PartitionEvaluator(
                engine: $0,
                policies: DestinationPolicy.resolved(
                    destinationsFile: destinationsFile, rulesFile: $0.config.destinations))
        }
        result.runs = engines.map { _ in RulesRun() }
        result.from = options.from
        result.to = options.to
    }

    /// Processes the next line of the input (without its newline). Blank lines are counted as lines
    /// and otherwise skipped; a line that is not a valid event is recorded with its number.
    public mutating func process(line: UnsafeBufferPointer<UInt8>) {
        result.lines += 1
        var blank = true
        for c in line where c != 0x20 && c != 0x0D && c != 0x09 {
            blank = false
            break
        }
        guard !blank else { return }
        result.summary.events += 1
        let event: AccountEvent
        do {
            event = try replay.parser.parse(line)
        } catch {
            reject(reason: error.reason, shown: error.description)
            return
        }
        if let reason = futureTimeViolation(event) {
            reject(reason: reason, shown: "\(FutureTimeBound.code): \(reason)")
            return
        }
        applyAdmitted(event)
    }

    /// Applies one parsed event (as if read from the next line); one beyond the future-time bound
    /// is counted as rejected (without a line number) and changes nothing.
    public mutating func apply(_ event: AccountEvent) {
        if let reason = futureTimeViolation(event) {
            result.summary.rejected[reason, default: 0] += 1
            result.badLineCount += 1
            return
        }
        applyAdmitted(event)
    }

    private func futureTimeViolation(_ event: AccountEvent) -> String? {
        guard let now = options.now else { return nil }
        return options.futureTimeBound.violation(
            event.occurredAt.millisecondsSinceEpoch,
            now: now.millisecondsSinceEpoch)
    }

    private mutating func reject(reason: String, shown: String) {
        result.summary.rejected[reason, default: 0] += 1
        result.badLineCount += 1
        if result.badLines.count < options.maxBadLinesKept {
            result.badLines.append(BadLine(number: result.lines, reason: shown))
        }
    }

    private mutating func applyAdmitted(_ event: AccountEvent) {
        if let to = options.to, event.occurredAt > to {
            result.eventsAfterPeriod += 1
            return
        }
        if result.firstEventAt.map({ event.occurredAt < $0 }) ?? true { result.firstEventAt = event.occurredAt }
        if result.lastEventAt.map({ event.occurredAt > $0 }) ?? true { result.lastEventAt = event.occurredAt }
        pending.removeAll(keepingCapacity: true)
        replay.apply(event) { pending.append($0) }
        drainPending()
    }

    /// Ends the history: advances every account to each remaining midnight up to the end of the
    /// period, releases what is due by then, and returns the result.
    public mutating func finish() -> BacktestResult {
        if let end = options.to ?? result.lastEventAt, let last = result.lastEventAt {
            // Re-scoring times up to the last event's, less the lateness, were passed by the
            // watermark; the rest, up to the end, are passed here.
            let step = Int64(replay.scorer.config.rescoreEveryHours) * 3_600_000
            var at = HealthScorer.floorDiv(last.millisecondsSinceEpoch, step) * step
            while at <= end.millisecondsSinceEpoch, at != .max {
                pending.removeAll(keepingCapacity: true)
                replay.advanceAll(to: Timestamp(millisecondsSinceEpoch: at)) { pending.append($0) }
                drainPending()
                at = HealthScorer.boundary(after: at, step: step)
            }
            for k in evaluators.indices {
                take(evaluators[k].advance(to: end), run: k)
                result.runs[k].heldAtEnd = evaluators[k].waiting
            }
        }
        let counts = replay.summary
        result.summary.applied = counts.applied
        result.summary.duplicates = counts.duplicates
        result.summary.tooLate = counts.tooLate
        result.summary.accounts = counts.accounts
        result.summary.zones = counts.zones
        result.summary.records = counts.records
        result.scoreRecords = counts.records
        return result
    }

    /// Backtests complete in-memory input (JSON lines) and returns the result.
    public static func run(
        _ input: [UInt8], scorer: HealthScorer = HealthScorer(), engines: [RulesEngine],
        destinationsFile: [String: DestinationPolicy] = [:], options: Options = Options()
    ) -> BacktestResult {
        var backtest = Backtest(scorer: scorer, engines: engines, destinationsFile: destinationsFile, options: options)
        input.withUnsafeBufferPointer { buffer in
            var start = 0
            while start < buffer.count {
                var end = start
                while end < buffer.count, buffer[end] != 0x0A { end += 1 }
                backtest.process(line: UnsafeBufferPointer(rebasing: buffer[start..<end]))
                start = end + 1
            }
        }
        return backtest.finish()
    }

    // MARK: - Scores -> alerts

    private mutating func drainPending() {
        for record in pending { score(record) }
        pending.removeAll(keepingCapacity: true)
    }

    private mutating func score(_ record: ScoreRecord) {
        let inPeriod = options.from.map { record.validAt >= $0 } ?? true
        if inPeriod {
            let k: Int
            if let found = seriesIndex[record.accountId] {
                k = found
            } else {
                k = result.series.count
                seriesIndex[record.accountId] = k
                result.series.append(AccountSeries(accountId: record.accountId))
            }
            result.series[k].profile = record.profile
            result.series[k].points.append(ScorePoint(at: record.validAt, score: record.score, zone: record.zone))
        }
        for k in evaluators.indices {
            // As the evaluator stage: release what is due by this record's time, then evaluate it.
            take(evaluators[k].advance(to: record.validAt), run: k)
            var raised: [RaisedAlert] = []
            let now = evaluators[k].process(record) { alert, disposition in
                raised.append(RaisedAlert(alert: alert, disposition: disposition))
            }
            if inPeriod { result.runs[k].raised += raised }
            take(now, run: k)
        }
    }

    private mutating func take(_ alerts: [AlertRecord], run k: Int) {
        for alert in alerts where options.from.map({ alert.raisedAt >= $0 }) ?? true {
            result.runs[k].alerts.append(alert)
        }
    }
}
