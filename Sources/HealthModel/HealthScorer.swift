import Contracts
import Foundation  // pow() for the baseline weights table only

/// Scores accounts: applies events to an `AccountState`, re-scores idle accounts when time advances,
/// and decides when a `health-scores` record is due.
///
/// Pure and deterministic: no clock, no I/O, no randomness; time comes in as event time
/// (`occurred_at`) or as the `Timestamp` given to `advance(to:state:)`. The same events in the same
/// order give byte-identical records.
///
/// How the score is made: each of the four families starts at 100 and loses the points of its
/// signals (the largest counts fully, the next half, the next a quarter, ...; at most 100). The
/// score is the weighted mean of the families (weights from `ScoringConfig`), capped while a
/// cancellation is scheduled. Usage and engagement compare the last `recentDays` complete days
/// (leaving out the worst of them, so one holiday or outage day is not a trend) with
/// the account's own baseline: exponentially weighted weekday means over `baselineDays` before them,
/// with the spread of the residuals around those weekday means plus a count-noise floor (the
/// expected count, in lumps for minutes and API calls), so small noisy accounts need a bigger drop. A drop
/// counts only when it is at least `minDrop` and at least `zStart` spreads below normal, fully from
/// `zFull`. A dark spell is also judged on the last `shortDays` complete days alone (without their
/// worst day, against the spread without the baseline's most stray day, and only when a working day
/// is left in them), so a steady account that stops is at risk after two working days while a holiday,
/// a quiet weekend or a small noisy account is not. Growth (usage_growth) counts only beyond doubt
/// (`zFull` spreads) and when it holds without the window's best day as well, so one burst day is not
/// growth. Support and commercial signals also see today's events. Positive signals (expansion,
/// upsell) do not raise the score: their impact is their strength in points.
public struct HealthScorer: Sendable {
    public let config: ScoringConfig
    /// decay[age] = 0.5^(age / halfLife), the weight of a baseline day `age` days before the recent window.
    let decay: [Double]
    let shares: FamilyScores

    /// Testing aid: evaluate after every event, without the exact skip of quiet activity.
    var alwaysEvaluate = false

    public init(config: ScoringConfig = ScoringConfig()) {
        self.config = config
        decay = (0..<max(config.baselineDays, 1)).map { Foundation.pow(0.5, Double($0) / config.halfLifeDays) }
        let w = config.weights
        let sum = w.productUsage + w.engagement + w.support + w.commercial
        shares = FamilyScores(
            productUsage: w.productUsage / sum, engagement: w.engagement / sum,
            support: w.support / sum, commercial: w.commercial / sum)
    }

    /// A fresh state sized by this configuration.
    public func makeState(accountId: String) -> AccountState {
        AccountState(accountId: accountId, horizonDays: config.horizonDays, dedupDays: config.dedupDays)
    }

    /// What happened to an event.
    public enum Disposition: String, Sendable, Hashable {
        /// Counted.
        case applied
        /// Its `event_id` was already counted (a redelivery or re-publication).
        case duplicate
        /// Older than the dedup window (`dedupDays` before the account's current day): it cannot be
        /// checked for duplicates, so it is not counted.
        case tooLate = "too_late"
    }

    /// The result of `apply`: what happened to the event and the record it caused, if any.
    public struct Outcome: Sendable {
        /// Whether the event was counted, or why not.
        public var disposition: Disposition
        /// The `health-scores` record the event caused, if one is due.
        public var record: ScoreRecord?
    }

    /// Applies one event (of `state`'s account) and returns the record it causes, if one is due.
    /// With `population`, days most accounts were quiet together are not this account's risk
    /// (see `PopulationActivity`); its sealed days must not change while the account stays on one
    /// day (seal them before an account moves to the next day, as `Replay` does).
    public func apply(
        _ event: AccountEvent, to state: inout AccountState, population: PopulationActivity? = nil
    ) -> Outcome {
        let ms = event.occurredAt.millisecondsSinceEpoch
        let day = Int32(clamping: event.occurredAt.epochDay)
        if !state.isEmpty, day < state.clockDay - state.dedupDays + 1 {
            return Outcome(disposition: .tooLate, record: nil)
        }
        let fp = fingerprint32(event.eventId)
        if state.seen.contains(fp) {
            return Outcome(disposition: .duplicate, record: nil)
        }
        let dayBefore = state.clockDay
        let activityBefore = state.lastActivityDay
        let featuresBefore = state.featureGeneration
        state.moveClock(to: ms)
        state.seen.insert(day: day, fingerprint: fp)
        if day < state.firstDay { state.firstDay = day }
        if day < state.clockDay { state.cache = nil }  // a late event changes a complete day
        let trigger = record(event, day: day, ms: ms, into: &state)
        if config.maxEventIds > 0 {
            if Int(state.pending.count) >= config.maxEventIds { state.pending.removeFirst() }
            state.pending.append(event.eventId)
        }
        // Product activity of today changes nothing the score reads (today's buckets count from
        // tomorrow on) unless it ends a silence or brings a new feature: skip the evaluation then.
        // Exact, not an approximation: the last evaluation saw the same inputs.
        if !alwaysEvaluate, trigger == nil, event.type.isQuiet, day == dayBefore, state.clockDay == dayBefore,
            state.lastActivityDay == activityBefore
                || (activityChangeIsNeutral(from: activityBefore, today: dayBefore)
                    && Int(dayBefore) - Int(activityBefore) <= 1 && config.inactivityTrendDays >= 1
                    && state.lastSilence == AccountState.noSilence),
            state.featureGeneration == featuresBefore, state.lastScore >= 0
        {
            return Outcome(disposition: .applied, record: nil)
        }
        let record = emitIfDue(&state, triggers: trigger.map { [$0] } ?? [], population: population)
        return Outcome(disposition: .applied, record: record)
    }

    /// Moves the account's time forward without events (idle re-scoring). Returns a record when a new
    /// day began and the score, zone or top signals changed: silence is a signal.
    public func advance(
        to time: Timestamp, state: inout AccountState, population: PopulationActivity? = nil
    ) -> ScoreRecord? {
        guard !state.isEmpty, time.millisecondsSinceEpoch > state.clockMs else { return nil }
        let step = Int64(config.rescoreEveryHours) * 3_600_000
        let oldPeriod = Self.floorDiv(state.clockMs, step)
        let oldDay = state.clockDay
        state.moveClock(to: time.millisecondsSinceEpoch)
        guard Self.floorDiv(state.clockMs, step) != oldPeriod else { return nil }
        // Within a day only a silence moves with the hour (the part of today that has passed): an
        // account active today scores the same until midnight, and an idle one scores the same as
        // long as its silence costs the same points as at its last evaluation (a silence long
        // enough to count fully, or too short to count yet). Exact, like `apply`'s skip: the last
        // evaluation saw the same inputs but the hour.
        if !alwaysEvaluate, state.clockDay == oldDay, state.lastScore >= 0 {
            if state.lastActivityDay >= state.clockDay { return nil }
            if state.lastSilence != AccountState.unknownSilence, state.cache?.day == state.clockDay,
                AccountState.silenceKey(
                    inactivity(
                        state, dips: Self.idleDays(state) > 1 ? dips(for: state, population: population) : nil,
                        population: population)) == state.lastSilence
            {
                return nil
            }
        }
        return emitIfDue(&state, triggers: [], population: population)
    }

    /// The first multiple of `step` after `t` (saturating at `Int64.max`): the next re-scoring time.
    @inlinable public static func boundary(after t: Int64, step: Int64) -> Int64 {
        let (next, overflow) = (floorDiv(t, step) * step).addingReportingOverflow(step)
        return overflow ? .max : next
    }

    /// `a / b` rounded down (towards minus infinity), for times before 1970 too; `b` > 0.
    @inlinable public static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    /// The current score of an account with its explanations (no emission bookkeeping).
    public func evaluation(of state: inout AccountState, population: PopulationActivity? = nil) -> HealthEvaluation {
        let e = evaluate(&state, population: population)
        return HealthEvaluation(
            score: e.score, zone: config.zone(of: e.score), components: e.components,
            signals: e.signals.map(signal), positiveSignals: e.positives.map(signal))
    }

    /// The share of a day's activity the account's hour profile puts before the state's clock
    /// (whole hours of today, UTC), or nil when sub-daily re-scoring is off or the profile is thin.
    @inline(__always) func todaysShare(_ s: AccountState) -> Double? {
        guard config.rescoreEveryHours < 24 else { return nil }
        let hour = Int((s.clockMs - Int64(s.clockDay) * Timestamp.millisecondsPerDay) / 3_600_000)
        guard hour > 0 else { return nil }
        return s.hours.share(before: hour, minimumEvents: config.inactivityHourProfileMinEvents)
    }

    /// Whether moving the last activity day from `old` to today leaves the score's inputs alone: no
    /// inactivity signal before either, and the baseline anchor (the recent window) unchanged.
    @inline(__always) func activityChangeIsNeutral(from old: Int32, today: Int32) -> Bool {
        old != .min && Int(today) - Int(old) <= config.inactivityAfterDays
            && old >= today - Int32(config.recentDays) - 1
    }

    // MARK: Recording

    private func record(_ e: AccountEvent, day: Int32, ms: Int64, into s: inout AccountState) -> Trigger? {
        let minute = Int16((ms - Int64(day) * Timestamp.millisecondsPerDay) / 60_000)
        let p = e.properties
        var trigger: Trigger?
        func rare(_ kind: RareKind, _ value: Int32 = 0) {
            s.rare.append(RareEvent(day: day, minute: minute, kind: kind, value: value))
            if s.rare.count > config.maxRareEvents,
                let oldest = s.rare.indices.min(by: { s.rare[$0].day < s.rare[$1].day })
            {
                s.rare.remove(at: oldest)
            }
        }
        let sentiment = p.sentiment.map { Int32(($0 * 100).rounded()) } ?? RareEvent.noSentiment
        switch e.type {
        case .login:
            s.add(.logins, 1, day: day)
        case .featureUsed:
            s.add(.featureUses, 1, day: day)
            if config.maxFeatures > 0, let name = p.feature {
                let fp = fingerprint32(name)
                if let k = s.features.firstIndex(where: { $0.fingerprint == fp }) {
                    s.features[k].count &+= 1
                    s.features[k].firstDay = min(s.features[k].firstDay, day)
                    s.features[k].lastDay = max(s.features[k].lastDay, day)
                } else {
                    if s.features.count >= config.maxFeatures,
                        let stale = s.features.indices.min(by: { s.features[$0].lastDay < s.features[$1].lastDay })
                    {
                        s.features.remove(at: stale)
                    }
                    s.features.append(FeatureUse(fingerprint: fp, count: 1, firstDay: day, lastDay: day))
                    s.featureGeneration &+= 1
                }
            }
        case .session:
            s.add(.minutes, Int((p.minutes ?? 0).rounded()), day: day)
        case .apiCall:
            s.addAPI(0, p.count ?? 1, day: day)
            s.addAPI(1, p.errors ?? 0, day: day)
        case .npsResponse:
            rare(.npsResponse, Int32(p.score ?? 0))
        case .ticketOpened:
            rare(.ticketOpened, sentiment)
        case .ticketEscalated:
            rare(.ticketEscalated, sentiment)
        case .ticketClosed, .other, .accountChurned, .accountRenewed:
            break
        case .paymentFailed:
            rare(.paymentFailed)
            trigger = Trigger(
                type: .paymentFailed, eventId: e.eventId, occurredAt: e.occurredAt, ref: e.ref, amount: p.amount,
                currency: p.currency)
        case .paymentSucceeded:
            rare(.paymentSucceeded)
        case .billingRetryFailed:
            rare(.billingRetryFailed)
            trigger = Trigger(
                type: .billingRetryFailed, eventId: e.eventId, occurredAt: e.occurredAt, ref: e.ref, amount: p.amount,
                currency: p.currency)
        case .championLeft:
            rare(.championLeft)
            trigger = Trigger(type: .championLeft, eventId: e.eventId, occurredAt: e.occurredAt, ref: e.ref)
        case .subscriptionCancelled:
            if ms >= s.cancellationAtMs {
                s.cancellationScheduled = true
                s.cancellationAtMs = ms
            }
            trigger = Trigger(
                type: .subscriptionCancelled, eventId: e.eventId, occurredAt: e.occurredAt, ref: e.ref,
                amount: p.amount, currency: p.currency)
        case .seatsChanged:
            let before = s.seats
            let seats = Int32(min(p.seats ?? 0, Int(Int32.max)))
            var k = s.seatHistory.count
            while k > 0, s.seatHistory[k - 1].day > day { k -= 1 }
            s.seatHistory.insert(SeatPoint(day: day, seats: seats), at: k)
            if s.seatHistory.count > 8 { s.seatHistory.removeFirst() }
            trigger = Trigger(
                type: .seatsChanged, eventId: e.eventId, occurredAt: e.occurredAt, ref: e.ref, seatsBefore: before,
                seatsAfter: Int(seats))
        case .accountUpdated:
            if ms >= s.profileAtMs {
                s.profileAtMs = ms
                if let v = p.name { s.profile.name = v }
                if let v = p.tier { s.profile.tier = v }
                if let v = p.mrr { s.profile.mrr = v }
                if let v = p.owner { s.profile.owner = v }
                if let v = p.url { s.profile.url = v }
                if let v = p.renewalDate { s.profile.renewalDate = v }
                if let v = p.timezone {
                    if s.profile.timezone != v { s.cache = nil }  // its region's holidays may differ
                    s.profile.timezone = v
                }
            }
            if ms >= s.cancellationAtMs {
                if p.cancellationScheduled == false || p.status == "active" {
                    s.cancellationScheduled = false
                    s.cancellationAtMs = ms
                } else if p.cancellationScheduled == true {
                    s.cancellationScheduled = true
                    s.cancellationAtMs = ms
                }
            }
        }
        if e.type.isActivity {
            s.hours.count(hour: Int((ms - Int64(day) * Timestamp.millisecondsPerDay) / 3_600_000))
            if day > s.lastActivityDay {
                // The baseline is anchored before a silence: a silence that ends moves it.
                if !activityChangeIsNeutral(from: s.lastActivityDay, today: s.clockDay) { s.cache = nil }
                s.lastActivityDay = day
            }
            if let u = e.userId { s.addUser(stableHash(u), day: day) }
        }
        return trigger
    }

    // MARK: Emission

    private func emitIfDue(
        _ s: inout AccountState, triggers: [Trigger], population: PopulationActivity?
    ) -> ScoreRecord? {
        let e = evaluate(&s, population: population)
        let zone = config.zone(of: e.score)
        var reasons: [EmitReason] = []
        let previous = s.lastScore >= 0 ? Int(s.lastScore) : nil
        let previousZone = previous.map { _ in Zone.allCases[Int(min(s.lastZone, 2))] }
        if let previous, let previousZone {
            if abs(e.score - previous) >= config.scoreStep { reasons.append(.scoreStep) }
            if zone != previousZone { reasons.append(.zoneChange) }
            if e.signalMask != s.lastSignalMask || e.positiveMask != s.lastPositiveMask {
                reasons.append(.signalsChanged)
            }
        } else {
            reasons.append(.first)
        }
        if !triggers.isEmpty { reasons.append(.businessEvent) }
        guard !reasons.isEmpty else {
            s.lastSilence = e.silence  // decided: the same inputs later decide the same
            return nil
        }
        guard let validAt = s.validAt else {
            s.lastSilence = AccountState.unknownSilence
            return nil
        }
        s.sequence = s.sequence == .max ? .max : s.sequence + 1
        let record = ScoreRecord(
            accountId: s.accountId, validAt: validAt, score: e.score, previousScore: previous,
            delta: previous.map { e.score - $0 } ?? 0, zone: zone, previousZone: previousZone,
            components: e.components, signals: e.signals.map(signal), positiveSignals: e.positives.map(signal),
            profile: s.profile, triggers: triggers, eventIds: s.pendingEventIds, reasons: reasons,
            cancellationScheduled: s.cancellationScheduled, sequence: Int(s.sequence))
        s.lastScore = Int16(e.score)
        s.lastZone = UInt8(Zone.allCases.firstIndex(of: zone)!)
        s.lastSignalMask = e.signalMask
        s.lastPositiveMask = e.positiveMask
        s.lastSilence = e.silence
        s.pending.removeAll(keepingCapacity: true)
        return record
    }

    private func signal(_ r: RawSignal) -> Signal {
        Signal(
            code: r.kind.code, family: r.kind.family,
            text: SignalText.text(r, baselineDays: config.baselineDays, recentDays: config.recentDays),
            impact: r.impact, value: round3(r.value), baseline: r.baseline.map(round3))
    }

    // MARK: Evaluation

    struct RawEvaluation {
        var score: Int
        var components: FamilyScores
        var signals: [RawSignal]
        var positives: [RawSignal]
        var signalMask: UInt32
        var positiveMask: UInt32
        /// The silence signal's points as `AccountState.lastSilence` keeps them.
        var silence: UInt64
    }

    /// The population's dips that matter to `s` today: nil unless it has a shared dip over the days
    /// the account's judgement reads (its horizon before today); the account's region's holidays
    /// count as days of no expected activity.
    @inline(__always) func dips(for s: AccountState, population: PopulationActivity?) -> PopulationActivity? {
        let today = s.clockDay
        let from = Int64(today) - Int64(s.horizonDays)
        var dips = population.flatMap { $0.hasDip(from: from, to: Int64(today) - 1) ? $0 : nil }
        if !config.holidays.isEmpty, let region = s.profile.timezone, let days = config.holidays[region] {
            let inRange = days.filter { $0 >= from && $0 < Int64(today) }
            if !inRange.isEmpty {
                dips = (population ?? PopulationActivity(minAccounts: 0)).adding(holidays: inRange)
            }
        }
        return dips
    }

    func evaluate(_ s: inout AccountState, population: PopulationActivity? = nil) -> RawEvaluation {
        let today = s.clockDay
        // The dips matter to the day's judgement and to a silence of more than a day.
        let dips = s.cache?.day != today || Self.idleDays(s) > 1 ? dips(for: s, population: population) : nil
        if s.cache?.day != today { s.cache = judgeSeries(s, today, population: dips) }
        var negatives: [RawSignal] = []
        negatives.reserveCapacity(16)
        var positives: [RawSignal] = []
        if let cache = s.cache { positives.append(contentsOf: cache.positives) }
        let silence = inactivity(s, dips: dips, population: population)
        if let silence { negatives.append(silence) }
        // Feature adoption.
        if s.firstDay != .max, today - s.firstDay >= Int32(config.baselineDays) {
            var newOnes = 0
            for f in s.features where f.firstDay > today - 14 && f.firstDay > s.firstDay + 7 { newOnes += 1 }
            if newOnes >= 2 {
                positives.append(
                    RawSignal(
                        kind: .featureAdoption, points: min(10, 3 * Double(newOnes)), value: Double(newOnes),
                        count: newOnes, days: 14))
            }
        }
        supportAndCommercial(s, today: today, negatives: &negatives, positives: &positives)
        // A drop over the week with a support or commercial risk beside it counts in proportion: the
        // two together say more than either alone. On its own it weighs by `dropPower`.
        if let cache = s.cache {
            let corroborated = negatives.contains { $0.kind.corroboratesDrops }
            negatives.append(contentsOf: cache.negatives(corroborated: corroborated))
        }

        // Combine: per family, largest penalty first, each next one counting half as much.
        negatives.sort {
            let fa = $0.kind.family
            let fb = $1.kind.family
            if fa != fb { return Self.familyIndex(fa) < Self.familyIndex(fb) }
            return $0.points != $1.points ? $0.points > $1.points : $0.kind.rawValue < $1.kind.rawValue
        }
        var total = 0.0
        var components = FamilyScores(productUsage: 100, engagement: 100, support: 100, commercial: 100)
        var k = 0
        while k < negatives.count {
            let family = negatives[k].kind.family
            var end = k
            var sum = 0.0
            var factor = 1.0
            while end < negatives.count, negatives[end].kind.family == family {
                negatives[end].impact = negatives[end].points * factor
                sum += negatives[end].impact
                factor *= 0.5
                end += 1
            }
            let scale = sum > 100 ? 100 / sum : 1
            components[family] = 100 - min(100, sum)
            for j in k..<end { negatives[j].impact = -(negatives[j].impact * scale * shares[family]) }
            k = end
        }
        for family in SignalFamily.allCases {
            total += shares[family] * components[family]
            components[family] = round1(components[family])
        }
        if s.cancellationScheduled, total > Double(config.cancellationScoreCap) {
            let extra = total - Double(config.cancellationScoreCap)
            total = Double(config.cancellationScoreCap)
            if let j = negatives.firstIndex(where: { $0.kind == .cancellationScheduled }) {
                negatives[j].impact -= extra
            }
        }
        let score = max(0, min(100, Int(total.rounded())))
        for j in negatives.indices { negatives[j].impact = round1(negatives[j].impact) }
        negatives.removeAll { -$0.impact < config.minSignalImpact }
        negatives.sort { $0.impact != $1.impact ? $0.impact < $1.impact : $0.kind.rawValue < $1.kind.rawValue }
        if negatives.count > config.maxSignals { negatives.removeLast(negatives.count - config.maxSignals) }
        for j in positives.indices {
            positives[j].impact = round1(positives[j].points * shares[positives[j].kind.family])
        }
        positives.removeAll { $0.impact < config.minSignalImpact }
        if positives.count > 1 {
            positives.sort { $0.impact != $1.impact ? $0.impact > $1.impact : $0.kind.rawValue < $1.kind.rawValue }
        }
        if positives.count > config.maxSignals { positives.removeLast(positives.count - config.maxSignals) }
        var mask: UInt32 = 0
        for r in negatives { mask |= r.kind.bit }
        var pmask: UInt32 = 0
        for r in positives { pmask |= r.kind.bit }
        return RawEvaluation(
            score: score, components: components, signals: negatives, positives: positives, signalMask: mask,
            positiveMask: pmask, silence: AccountState.silenceKey(silence))
    }

    /// What a drop of `drop` keeps of its proportional weight under `power`: (drop / 0.9)^(power - 1), so
    /// a moderate drop weighs little and a collapse (down 90% or more) counts in full.
    @inline(__always) static func dropDiscount(_ drop: Double, power: Double) -> Double {
        Foundation.pow(min(1, drop / 0.9), power - 1)
    }

    /// Whole days since the last active day (0 without activity).
    @inline(__always) static func idleDays(_ s: AccountState) -> Int {
        s.lastActivityDay == .min ? 0 : Int(s.clockDay) - Int(s.lastActivityDay)
    }

    /// The silence signal of `s` at its clock, if any: the one part of an evaluation that moves
    /// with the hour within a day (`todaysShare`); everything else an evaluation reads changes only
    /// with the day or with an event.
    ///
    /// Judged against the account's own rhythm once it has a baseline (`s.cache`, today's): the
    /// complete silent days (after its last active day, before today) expect `rhythm` logins each
    /// (scaled on days most accounts were quiet together); the chance of none in all is
    /// e^-expected. A silence starts to count when that expectation reaches `inactivityMinExpected`
    /// (so a sparse account waits until the evidence is there) and counts fully (`inactivityMax`)
    /// from `inactivityFullExpected`, however few days that took, once it expects more than one and
    /// a half of its busiest days (one dark working day is not a trend); once it counts, never less
    /// than the fixed rule would. Before a baseline: more than `inactivityAfterDays` idle days,
    /// `inactivityPerDay` each.
    /// Reads `dips` only for a silence of more than a day (`idleDays` > 1).
    func inactivity(_ s: AccountState, dips: PopulationActivity?, population: PopulationActivity?) -> RawSignal? {
        guard s.lastActivityDay != .min else { return nil }
        let today = s.clockDay
        let idle = Self.idleDays(s)
        var shared = 0
        if let dips, idle > 1 {
            for d in (Int64(s.lastActivityDay) + 1)..<Int64(today) where dips.dip(on: d) != nil { shared += 1 }
        }
        if let rhythm = s.cache?.rhythm, config.inactivityMinExpected > 0 {
            var expected = 0.0
            if idle > 1 {
                for d in (s.lastActivityDay + 1)..<today {
                    let k = Int(((Int64(d) + 3) % 7 + 7) % 7)
                    expected += rhythm[k] * (dips?.dip(on: Int64(d)) ?? 1)
                }
            }
            // The part of today that has passed: what the account's hours (its hour profile)
            // bring by this hour of its weekday, once it has shown when it works.
            // On a day most accounts are quiet together so far (the first hours of a public
            // holiday, before the day is sealed), only the population's share of that.
            if idle >= 1, let share = todaysShare(s) {
                let hour = Int((s.clockMs - Int64(today) * Timestamp.millisecondsPerDay) / 3_600_000)
                let fleet = population?.shareSoFar(day: Int64(today), beforeHour: hour) ?? 1
                expected += rhythm[Int(((Int64(today) + 3) % 7 + 7) % 7)] * share * fleet
            }
            // One dark working day is not a trend (a holiday of the account's own): the silence
            // must also expect more than `inactivityTrendDays` of its busiest days.
            // Unless the evidence is so strong for its own rhythm that it moves at once.
            let busiest = rhythm.max() ?? 0
            let atOnce = config.inactivityAtOnceExpected > 0 && expected >= config.inactivityAtOnceExpected
            guard expected >= config.inactivityMinExpected,
                atOnce || expected >= config.inactivityTrendDays * busiest
            else { return nil }
            let span = config.inactivityFullExpected - config.inactivityMinExpected
            let strength = span > 0 ? min(1, (expected - config.inactivityMinExpected) / span) : 1
            // Once the evidence is there, never less than the fixed rule's idle days would cost.
            let fixed = Double(idle - shared - config.inactivityAfterDays) * config.inactivityPerDay
            return RawSignal(
                kind: .inactivity,
                points: min(config.inactivityMax, max(config.inactivityMax * max(strength, 0.1), fixed)),
                value: Double(idle), baseline: expected.rounded(), count: idle, before: shared)
        } else if idle - shared > config.inactivityAfterDays {
            let points = min(
                config.inactivityMax, Double(idle - shared - config.inactivityAfterDays) * config.inactivityPerDay)
            return RawSignal(kind: .inactivity, points: points, value: Double(idle), count: idle, before: shared)
        }
        return nil
    }

    /// The order of the families when combining penalties. Static, so that the sort's comparison
    /// does not capture (and copy) the scorer on each evaluation.
    @inline(__always) private static func familyIndex(_ f: SignalFamily) -> Int {
        switch f {
        case .productUsage: 0
        case .engagement: 1
        case .support: 2
        case .commercial: 3
        }
    }

    private func supportAndCommercial(
        _ s: AccountState, today: Int32, negatives: inout [RawSignal], positives: inout [RawSignal]
    ) {
        let c = config
        var week = 0
        var prior = 0
        var escalations = 0
        var sentimentSum = 0
        var sentimentCount = 0
        var npsSum = 0
        var npsCount = 0
        var failures = 0
        var lastFailure: (Int32, Int16)?
        var lastRetryFailure: (Int32, Int16)?
        var lastSuccess: (Int32, Int16)?
        var championDay: Int32?
        func later(_ a: (Int32, Int16)?, _ b: (Int32, Int16)) -> Bool {
            guard let a else { return true }
            return b.0 > a.0 || (b.0 == a.0 && b.1 >= a.1)
        }
        for e in s.rare {
            let age = today - e.day
            switch e.kind {
            case .ticketOpened, .ticketEscalated:
                if e.kind == .ticketOpened {
                    if age < 7 { week += 1 } else if age < 35 { prior += 1 }
                } else if age < Int32(c.escalationDays) {
                    escalations += 1
                }
                if age < Int32(c.sentimentDays), e.value != RareEvent.noSentiment {
                    sentimentSum += Int(e.value)
                    sentimentCount += 1
                }
            case .npsResponse:
                if age < Int32(c.npsDays) {
                    npsSum += Int(e.value)
                    npsCount += 1
                }
            case .paymentFailed:
                if age < Int32(c.paymentDays) { failures += 1 }
                if later(lastFailure, (e.day, e.minute)) { lastFailure = (e.day, e.minute) }
            case .billingRetryFailed:
                if age < Int32(c.billingRetryDays), later(lastRetryFailure, (e.day, e.minute)) {
                    lastRetryFailure = (e.day, e.minute)
                }
            case .paymentSucceeded:
                if later(lastSuccess, (e.day, e.minute)) { lastSuccess = (e.day, e.minute) }
            case .championLeft:
                if age < Int32(c.championDays), championDay.map({ e.day > $0 }) ?? true { championDay = e.day }
            }
        }
        // Tickets against the account's own weekly normal.
        if week >= c.ticketMinCount {
            let historyStart = max(s.firstDay, today - 34)
            let priorDays = max(0, min(28, Int(today - 7 - historyStart) + 1))
            let normal = priorDays >= 7 ? Double(prior) * 7 / Double(priorDays) : 0
            let expected = max(normal, 0.5)
            let ratio = Double(week) / expected
            if ratio >= c.ticketMinRatio {
                let points = min(c.ticketMax, 10 * (Double(week) - expected) / expected.squareRoot())
                negatives.append(
                    RawSignal(
                        kind: .ticketSpike, points: points, value: Double(week), baseline: round3(expected),
                        count: week, days: 7))
            }
        }
        if escalations > 0 {
            negatives.append(
                RawSignal(
                    kind: .escalations, points: min(c.escalationMax, Double(escalations) * c.escalationPenalty),
                    value: Double(escalations), count: escalations, days: c.escalationDays))
        }
        if sentimentCount > 0 {
            let avg = Double(sentimentSum) / Double(sentimentCount) / 100
            if avg <= c.sentimentBelow {
                let points = c.sentimentPenalty * min(1, max(0.5, -avg / 0.8))
                negatives.append(
                    RawSignal(
                        kind: .negativeSentiment, points: points, value: avg, count: sentimentCount,
                        days: c.sentimentDays))
            }
        }
        if npsCount > 0 {
            let avg = Double(npsSum) / Double(npsCount)
            if avg <= Double(c.npsDetractorAtMost) {
                negatives.append(
                    RawSignal(kind: .npsDetractor, points: c.npsPenalty, value: avg, count: npsCount, days: c.npsDays))
            } else if avg >= Double(c.npsPromoterAtLeast) {
                positives.append(RawSignal(kind: .npsPromoter, points: 5, value: avg, count: npsCount, days: c.npsDays))
            }
        }
        if failures > 0, let lastFailure {
            let paid = lastSuccess.map { later(lastFailure, $0) && $0 != lastFailure } ?? false
            let points = min(c.paymentMax, Double(failures) * c.paymentPenalty) * (paid ? 0.25 : 1)
            negatives.append(
                RawSignal(
                    kind: .paymentFailures, points: points, value: Double(failures), count: failures,
                    days: c.paymentDays, before: paid ? 1 : 0))
        }
        if let retry = lastRetryFailure {
            let paid = lastSuccess.map { later(retry, $0) && $0 != retry } ?? false
            negatives.append(
                RawSignal(
                    kind: .billingRetryFailed, points: c.billingRetryPenalty * (paid ? 0.25 : 1), value: 1, count: 1,
                    days: Int(today - retry.0), before: paid ? 1 : 0))
        }
        // Seats over the last `seatsDays`.
        if s.seatHistory.count >= 2, let current = s.seatHistory.last {
            let cutoff = today - Int32(c.seatsDays)
            let base = s.seatHistory.last(where: { $0.day <= cutoff }) ?? s.seatHistory[0]
            if base.seats > 0, base != current {
                let change = Double(current.seats) / Double(base.seats) - 1
                if change >= c.seatsMinChange {
                    positives.append(
                        RawSignal(
                            kind: .seatsGrowth, points: min(20, change * 20), value: change,
                            baseline: Double(base.seats), days: c.seatsDays, before: Int(base.seats),
                            after: Int(current.seats)))
                } else if change <= -c.seatsMinChange {
                    negatives.append(
                        RawSignal(
                            kind: .seatsDown, points: min(c.seatsDownMax, -change * 100), value: change,
                            baseline: Double(base.seats), days: c.seatsDays, before: Int(base.seats),
                            after: Int(current.seats)))
                }
            }
        }
        if let date = s.profile.renewalDate, let renewal = RenewalDate.epochDay(date) {
            let days = Int(renewal - Int64(today))
            if days >= 0, days <= c.renewalDays {
                negatives.append(
                    RawSignal(kind: .renewalSoon, points: c.renewalPenalty, value: Double(days), count: days))
            }
        }
        if s.cancellationScheduled {
            negatives.append(RawSignal(kind: .cancellationScheduled, points: c.cancellationPenalty, value: 1))
        }
        if let championDay {
            negatives.append(
                RawSignal(kind: .championLeft, points: c.championPenalty, value: 1, days: Int(today - championDay)))
        }
    }

    // MARK: Baselines of the daily series

    /// How one daily series compares with its baseline.
    struct Judgement {
        var drop: Double
        var growth: Double
        var z: Double
        var observed: Double
        var expected: Double
        var penalty: Double
        /// Days compared (the recent window without its worst day).
        var days: Double
        /// The drop is that of the short window (`shortDays`), worse than the whole recent window's.
        var shortWindow = false
        /// Days the baseline compared with ends earlier than the usual one (`declineLagDays`; 0: the usual).
        var lagDays = 0
        /// Days of the compared window when most accounts were quiet together (their expected
        /// figure is the population's share of the account's normal).
        var sharedDipDays = 0

        /// The expected daily figure.
        var dailyBaseline: Double { round1(expected / max(days, 1)) }
    }

    /// Where a daily series lives in the state.
    enum Source {
        case small(AccountState.Small)
        case api(Int)
    }

    /// A series' judgement in the two ways a drop over the week can weigh: `weighed` by `dropPower`
    /// (an account with nothing else wrong) and `full`, in proportion (an account with a support or
    /// commercial risk beside the drop). Each picks its own worse window (the week or the dark spell),
    /// so a corroborated drop is never left at the weight of the other way.
    struct Judged {
        var weighed: Judgement
        var full: Judgement
    }

    /// The recent window of a daily series against the account's own baseline. With `lag` > 0, against
    /// the baseline that ends `lag` days earlier, for its drop only (no growth, no short window).
    func judge(
        _ s: AccountState, today: Int32, lump: Double = 1, _ source: Source, population: PopulationActivity? = nil,
        lag: Int32 = 0
    ) -> Judged? {
        let c = config
        let recent = Int32(c.recentDays)
        // The baseline ends before the recent window, or before the account went silent, whichever
        // is earlier: silent days must not become the new normal.
        var baseEnd = today - recent - 1 - lag
        if s.lastActivityDay != .min, s.lastActivityDay < baseEnd { baseEnd = s.lastActivityDay }
        guard s.firstDay != .max, !s.isEmpty else { return nil }
        let baseStart = max(baseEnd - Int32(c.baselineDays) + 1, s.firstDay)
        guard baseEnd - baseStart + 1 >= Int32(c.minHistoryDays) else { return nil }
        let field: AccountState.DailyField
        switch source {
        case .small(let small): field = s.dailyField(small.rawValue)
        case .api(let api): field = s.dailyField(AccountState.smallFields + api)
        }
        @inline(__always) func weekday(_ d: Int32) -> Int { Int(((Int64(d) + 3) % 7 + 7) % 7) }
        // Every day this judgement reads, read once: the baseline days and the recent window (each window
        // below is its last days). The ring's bit-packed values and the population's dips (a dictionary)
        // were read up to four times a day, for five series a day per account.
        let baseCount = Int(baseEnd - baseStart + 1)
        let recentStart = today - recent
        let dayCount = baseCount + Int(recent)
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: 21 + 2 * dayCount) { t -> Judged? in
            for k in 0..<21 { t[k] = 0 }
            // t[0..<7]: weights per weekday, t[7..<14]: weighted sums, t[14..<21]: weekday means; then
            // the days' values, then their dips (the population's share of normal on a day most
            // accounts were quiet together; -1 on any other day).
            let values = 21
            let dips = 21 + dayCount
            for i in 0..<dayCount {
                let d = i < baseCount ? baseStart + Int32(i) : recentStart + Int32(i - baseCount)
                t[values + i] = s.value(field, day: d)
                t[dips + i] = population?.dip(on: Int64(d)) ?? -1
            }
            @inline(__always) func index(_ d: Int32) -> Int {
                d >= recentStart ? baseCount + Int(d - recentStart) : Int(d - baseStart)
            }
            @inline(__always) func v(_ d: Int32) -> Double { t[values + index(d)] }
            /// Whether most accounts were quiet together on `d`.
            @inline(__always) func isDip(_ d: Int32) -> Bool { t[dips + index(d)] >= 0 }
            var totalWeight = 0.0
            var total = 0.0
            // Days most accounts were quiet together are not the account's normal: left out.
            for d in baseStart...baseEnd where !isDip(d) {
                let weight = decay[Int(baseEnd - d)]
                let k = weekday(d)
                let x = weight * v(d)
                t[k] += weight
                t[7 + k] += x
                totalWeight += weight
                total += x
            }
            guard totalWeight > 0 else { return nil }
            let mean = total / totalWeight
            guard mean > 0 else { return nil }
            let prior = 0.5
            for k in 0..<7 { t[14 + k] = (t[7 + k] + prior * mean) / (t[k] + prior) }
            // The spread around the weekday means; and without the day that strays most (one holiday
            // or outage day in the baseline is not the account's normal day-to-day spread).
            var squares = 0.0
            var widest = 0.0
            var widestWeight = 0.0
            for d in baseStart...baseEnd where !isDip(d) {
                let r = v(d) - t[14 + weekday(d)]
                let w = decay[Int(baseEnd - d)]
                squares += w * r * r
                if w * r * r > widest {
                    widest = w * r * r
                    widestWeight = w
                }
            }
            let variance = squares / totalWeight
            let robustVariance = (squares - widest) / max(totalWeight - widestWeight, .leastNonzeroMagnitude)
            /// The account's expected figure of a day: its weekday mean, times the population's share of
            /// normal on a day most accounts were quiet together.
            @inline(__always) func expectedOn(_ d: Int32) -> Double {
                let share = t[dips + index(d)]
                return t[14 + weekday(d)] * (share >= 0 ? share : 1)
            }
            /// The last `length` complete days against the weekday means, without their worst day
            /// (one holiday or outage day is not a trend) and, with `trimBest`, their best day too
            /// (one burst day is not growth).
            func window(_ length: Int32, trimBest: Bool, variance: Double) -> (
                drop: Double, ratio: Double, z: Double, observed: Double, expected: Double, days: Double,
                busiestKept: Double
            ) {
                var expected = 0.0
                var observed = 0.0
                var worstResidual = Double.infinity
                var worstDay = Int32.min
                var bestResidual = -Double.infinity
                var bestDay = Int32.min
                for d in (today - length)...(today - 1) {
                    let e = expectedOn(d)
                    let o = v(d)
                    expected += e
                    observed += o
                    if o - e < worstResidual {
                        worstResidual = o - e
                        worstDay = d
                    }
                    if o - e >= bestResidual {
                        bestResidual = o - e
                        bestDay = d
                    }
                }
                var days = Double(length)
                if length >= 3 {
                    expected -= expectedOn(worstDay)
                    observed -= v(worstDay)
                    days -= 1
                } else {
                    worstDay = Int32.min
                }
                if trimBest, length >= 4, bestDay != worstDay {
                    expected -= expectedOn(bestDay)
                    observed -= v(bestDay)
                    days -= 1
                } else {
                    bestDay = Int32.min
                }
                var busiestKept = 0.0
                for d in (today - length)...(today - 1) where d != worstDay && d != bestDay {
                    busiestKept = max(busiestKept, expectedOn(d))
                }
                guard expected > 0 else { return (0, 0, 0, observed, 0, days, busiestKept) }
                let spread = (days * variance + expected * lump).squareRoot()
                let ratio = observed / expected - 1
                return (max(0, -ratio), ratio, (observed - expected) / spread, observed, expected, days, busiestKept)
            }
            func penalty(drop: Double, z: Double, power: Double) -> Double {
                let confidence = min(1, max(0, (-z - c.zStart) / (c.zFull - c.zStart)))
                guard drop >= c.minDrop else { return 0 }
                let weight = power == 1 ? drop : drop * Self.dropDiscount(drop, power: power)
                return min(100, weight * 100 * confidence)
            }
            /// Days of the last `length` days most accounts were quiet together (0 without the population).
            func sharedDips(_ length: Int32) -> Int {
                guard population != nil else { return 0 }
                var shared = 0
                for d in (today - length)...(today - 1) where isDip(d) { shared += 1 }
                return shared
            }
            let main = window(recent, trimBest: false, variance: variance)
            guard main.expected > 0 else { return nil }
            if lag > 0 {
                var judgement = Judgement(
                    drop: main.drop, growth: 0, z: main.z, observed: main.observed, expected: main.expected,
                    penalty: penalty(drop: main.drop, z: main.z, power: c.dropPower), days: main.days,
                    lagDays: Int(lag))
                judgement.sharedDipDays = sharedDips(recent)
                var full = judgement
                full.penalty = penalty(drop: main.drop, z: main.z, power: 1)
                return Judged(weighed: judgement, full: full)
            }
            // Growth: beyond doubt (z_full against the whole spread), and still there without the
            // best day, so one burst day (a batch import, a training day) is not growth.
            let trimmed = window(recent, trimBest: true, variance: variance)
            let growth =
                main.ratio > 0 && main.z >= c.zFull && trimmed.ratio > 0 && trimmed.z >= c.zFull
                ? min(main.ratio, trimmed.ratio) : 0
            var judgement = Judgement(
                drop: main.drop, growth: growth, z: main.z, observed: main.observed, expected: main.expected,
                penalty: penalty(drop: main.drop, z: main.z, power: c.dropPower), days: main.days)
            var full = judgement
            full.penalty = penalty(drop: main.drop, z: main.z, power: 1)
            // A dark spell: the last `shortDays` complete days judged on their own, against the same
            // weekday means and the robust spread (a holiday in the baseline must not hide an account
            // that stopped).
            // Days that are quiet anyway (a weekend) say little: the short window counts only when it
            // keeps a working day (a weekday at least half as busy as the account's busiest).
            if c.shortDays >= 3, c.shortDays < c.recentDays {
                let short = window(Int32(c.shortDays), trimBest: false, variance: robustVariance)
                var busiest = 0.0
                for k in 0..<7 { busiest = max(busiest, t[14 + k]) }
                let enough = short.expected > 0 && short.busiestKept >= 0.5 * busiest
                let p = enough ? penalty(drop: short.drop, z: short.z, power: 1) : 0
                let spell = Judgement(
                    drop: short.drop, growth: growth, z: short.z, observed: short.observed,
                    expected: short.expected,
                    penalty: p, days: short.days, shortWindow: true)
                if p > judgement.penalty { judgement = spell }
                if p > full.penalty { full = spell }
            }
            judgement.sharedDipDays = sharedDips(judgement.shortWindow ? Int32(c.shortDays) : recent)
            full.sharedDipDays = sharedDips(full.shortWindow ? Int32(c.shortDays) : recent)
            return Judged(weighed: judgement, full: full)
        }
    }

    func judgeSeries(_ s: AccountState, _ today: Int32, population: PopulationActivity? = nil) -> SeriesCache {
        var negatives: [RawSignal] = []
        var positives: [RawSignal] = []
        func signal(_ kind: SignalKind, _ series: UsageSeries, _ j: Judgement) -> RawSignal {
            RawSignal(
                kind: kind, points: j.penalty, value: -j.drop, baseline: j.dailyBaseline,
                days: j.shortWindow ? Int(j.days) : 0, series: series, before: j.sharedDipDays, after: j.lagDays)
        }
        /// A series judged against its usual baseline and, for a drop, against the earlier one
        /// (`declineLagDays`): the worse drop of the two, the growth of the usual one. The earlier
        /// baseline counts only while the usual one still sees a drop that counts (the decline goes
        /// on: a quiet month that has become the account's normal is not judged against the level
        /// before it for weeks), and only when it sees the drop deeper (a decline that the usual
        /// baseline has followed down) and weighs it more (its spread is not widened by the decline's
        /// own days, as the usual one's is). Chosen in each of the two ways a drop can weigh.
        let lag = Int32(config.declineLagDays)
        func judged(lump: Double = 1, _ source: Source) -> Judged? {
            guard let usual = judge(s, today: today, lump: lump, source, population: population) else { return nil }
            guard lag > 0, usual.full.penalty > 0,
                let earlier = judge(s, today: today, lump: lump, source, population: population, lag: lag)
            else { return usual }
            func worse(_ u: Judgement, _ e: Judgement) -> Judgement {
                // Deeper by 5 points of the level at least, so a drop both see alike keeps its usual words.
                guard u.penalty > 0, e.penalty > u.penalty, e.drop >= u.drop + 0.05 else { return u }
                var chosen = e
                chosen.growth = u.growth
                return chosen
            }
            return Judged(weighed: worse(usual.weighed, earlier.weighed), full: worse(usual.full, earlier.full))
        }
        // With `dropPower` 1 the two ways are one: only `negatives` is kept.
        let twoWays = config.dropPower != 1
        var fullNegatives: [RawSignal] = []
        // Product usage: the worst of feature use, session minutes and API calls.
        var worst: RawSignal?
        var worstFull: RawSignal?
        var best: RawSignal?
        // Lumps: the noise floor of a series counts its units in lumps, not one by one: a day's
        // minutes are a sum of sessions of very different lengths (its variance is about the
        // minutes times E[m^2]/E[m], some 40 minutes for sessions of 5 to 60), an api_call event
        // carries hundreds of calls.
        for series in [UsageSeries.featureUses, .sessionMinutes, .apiCalls] {
            let judgedSeries: Judged?
            switch series {
            case .sessionMinutes: judgedSeries = judged(lump: 40, .small(.minutes))
            case .apiCalls: judgedSeries = judged(lump: 200, .api(0))
            default: judgedSeries = judged(.small(.featureUses))
            }
            guard let judgedSeries else { continue }
            let j = judgedSeries.weighed
            if j.penalty > 0, j.penalty > (worst?.points ?? 0) { worst = signal(.usageDown, series, j) }
            let f = judgedSeries.full
            if twoWays, f.penalty > 0, f.penalty > (worstFull?.points ?? 0) {
                worstFull = signal(.usageDown, series, f)
            }
            if j.growth >= config.usageGrowthMinRatio, j.growth > (best?.value ?? 0) {
                best = RawSignal(
                    kind: .usageGrowth, points: min(10, j.growth * 10), value: j.growth, baseline: j.dailyBaseline,
                    series: series)
            }
        }
        if let worst { negatives.append(worst) }
        if let worstFull { fullNegatives.append(worstFull) }
        if let best { positives.append(best) }
        // Engagement: logins and distinct users.
        for (kind, series, source) in [
            (SignalKind.loginsDown, UsageSeries.logins, Source.small(.logins)),
            (.activeUsersDown, .activeUsers, .small(.users)),
        ] {
            guard let j = judged(source) else { continue }
            if j.weighed.penalty > 0 { negatives.append(signal(kind, series, j.weighed)) }
            if twoWays, j.full.penalty > 0 { fullNegatives.append(signal(kind, series, j.full)) }
        }
        // API error rate against the account's own normal rate.
        let recentStart = today - Int32(config.recentDays)
        var calls = 0.0
        var errors = 0.0
        var baseCalls = 0.0
        var baseErrors = 0.0
        let callsField = s.dailyField(AccountState.smallFields)
        let errorsField = s.dailyField(AccountState.smallFields + 1)
        for d in (recentStart - Int32(config.baselineDays))..<today {
            if d >= recentStart {
                calls += s.value(callsField, day: d)
                errors += s.value(errorsField, day: d)
            } else {
                baseCalls += s.value(callsField, day: d)
                baseErrors += s.value(errorsField, day: d)
            }
        }
        if calls >= 100 {
            let rate = errors / calls
            let normal = baseCalls > 0 ? baseErrors / baseCalls : 0
            if rate >= config.apiErrorMinRate, rate >= 2 * normal {
                let errorRate = RawSignal(
                    kind: .apiErrors, points: min(config.apiErrorMax, rate * 200), value: rate,
                    baseline: round3(normal))
                negatives.append(errorRate)
                if twoWays { fullNegatives.append(errorRate) }
            }
        }
        let rhythm =
            weekdayMeans(s, today: today, .small(.logins), population: population)
            ?? weekdayMeans(s, today: today, .small(.featureUses), population: population)
        return SeriesCache(
            day: today, negatives: negatives, corroboratedNegatives: twoWays ? fullNegatives : nil,
            positives: positives, rhythm: rhythm)
    }

    /// The weekday means of a daily series over the account's baseline (the baseline of `judge`,
    /// without its days most accounts were quiet together), Monday first; nil without a baseline
    /// or without any of that series.
    func weekdayMeans(
        _ s: AccountState, today: Int32, _ source: Source, population: PopulationActivity?
    ) -> [Double]? {
        let c = config
        var baseEnd = today - Int32(c.recentDays) - 1
        if s.lastActivityDay != .min, s.lastActivityDay < baseEnd { baseEnd = s.lastActivityDay }
        guard s.firstDay != .max, !s.isEmpty else { return nil }
        let baseStart = max(baseEnd - Int32(c.baselineDays) + 1, s.firstDay)
        guard baseEnd - baseStart + 1 >= Int32(c.minHistoryDays) else { return nil }
        let field: AccountState.DailyField
        switch source {
        case .small(let small): field = s.dailyField(small.rawValue)
        case .api(let api): field = s.dailyField(AccountState.smallFields + api)
        }
        // t[0..<7]: weights per weekday, t[7..<14]: weighted sums.
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: 14) { t -> [Double]? in
            for k in 0..<14 { t[k] = 0 }
            var totalWeight = 0.0
            var total = 0.0
            for d in baseStart...baseEnd where population?.dip(on: Int64(d)) == nil {
                let x = s.value(field, day: d)
                let w = decay[Int(baseEnd - d)]
                let k = Int(((Int64(d) + 3) % 7 + 7) % 7)
                t[k] += w
                t[7 + k] += w * x
                totalWeight += w
                total += w * x
            }
            guard totalWeight > 0, total > 0 else { return nil }
            let mean = total / totalWeight
            return (0..<7).map { (t[7 + $0] + 0.5 * mean) / (t[$0] + 0.5) }
        }
    }
}

/// The day's judgement of the daily series (derived; recomputed after a day change or a late event).
/// Immutable and boxed (a class), so that an account state holds one reference, not three fields.
final class SeriesCache: Sendable {
    let day: Int32
    let negatives: [RawSignal]
    /// The same with every drop over the week in proportion, for an account with a support or
    /// commercial risk beside it; nil when the two are one (`dropPower` 1).
    let corroboratedNegatives: [RawSignal]?
    let positives: [RawSignal]
    /// The account's expected logins (or feature uses, without logins) per weekday (Monday first),
    /// from its baseline; nil before it has one. What a silence is judged against.
    let rhythm: [Double]?

    init(
        day: Int32, negatives: [RawSignal], corroboratedNegatives: [RawSignal]? = nil, positives: [RawSignal],
        rhythm: [Double]? = nil
    ) {
        self.day = day
        self.negatives = negatives
        self.corroboratedNegatives = corroboratedNegatives
        self.positives = positives
        self.rhythm = rhythm
    }

    /// The drops (and API errors) that count, by whether a support or commercial risk corroborates them.
    func negatives(corroborated: Bool) -> [RawSignal] {
        corroborated ? (corroboratedNegatives ?? negatives) : negatives
    }
}

/// A score with its explanation, as `HealthScorer.evaluation(of:)` sees it now.
public struct HealthEvaluation: Sendable, Hashable {
    public var score: Int
    public var zone: Zone
    public var components: FamilyScores
    public var signals: [Signal]
    public var positiveSignals: [Signal]
}

@inline(__always) func round1(_ x: Double) -> Double { (x * 10).rounded() / 10 }
@inline(__always) func round3(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }
