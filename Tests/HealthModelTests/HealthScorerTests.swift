import Contracts
import Testing

@testable import HealthModel

@Suite struct HealthScorerTests {
    var scorer = HealthScorer()
    let start = Timestamp(year: 2026, month: 9, day: 7)  // a Monday

    /// 42 days of logins (weekdays only) around `mean` with `spread`, then 7 days at `(1 - dip)`; returns the evaluation.
    /// With `championLeaves`, the champion leaves on the dip's first day.
    func dipped(
        mean: Double, spread: Double, dip: Double, seed: UInt64, championLeaves: Bool = false
    ) -> HealthEvaluation {
        var rng = SplitMix64(seed, 1, 2)
        var state = scorer.makeState(accountId: "a")
        var f = EventFactory(account: "a")
        for d in 0..<49 {
            let day = start.adding(days: Int64(d))
            guard day.weekday < 5 else { continue }
            if championLeaves, d == 42 {
                _ = scorer.apply(f.make(.championLeft, at: day.adding(seconds: 7 * 3600), user: "u0"), to: &state)
            }
            let level = d >= 42 ? 1 - dip : 1
            let n = max(0, Int(((mean + spread * (2 * rng.unit() - 1)) * level).rounded()))
            for k in 0..<n {
                _ = scorer.apply(
                    f.make(.login, at: day.adding(seconds: Int64(8 * 3600 + k * 60)), user: "u\(k % 50)"), to: &state)
                _ = scorer.apply(
                    f.make(
                        .featureUsed, at: day.adding(seconds: Int64(8 * 3600 + k * 60 + 1)), user: "u\(k % 50)",
                        EventProperties(feature: "f\(k % 3)")), to: &state)
            }
        }
        _ = scorer.advance(to: start.adding(days: 49), state: &state)
        return scorer.evaluation(of: &state)
    }

    @Test func aTwentyPercentDipIsNormalForANoisySmallAccountButNotForASteadyEnterprise() {
        for seed in UInt64(1)...5 {
            let small = dipped(mean: 4, spread: 3, dip: 0.2, seed: seed)
            #expect(!small.signals.contains { $0.code == SignalCode.loginsDown }, "small: \(small.signals.map(\.text))")
            #expect(small.score == 100)
            let steady = dipped(mean: 200, spread: 6, dip: 0.2, seed: seed)
            let logins = steady.signals.first { $0.code == SignalCode.loginsDown }
            #expect(logins != nil, "enterprise: \(steady.signals.map(\.text))")
            #expect(
                logins?.text.hasPrefix("Logins down ") == true && logins?.text.hasSuffix("% vs 28-day baseline") == true
            )
            #expect(abs((logins?.value ?? 0) + 0.2) < 0.05, "about -20%: \(logins?.value ?? 0)")
            #expect(steady.zone == .healthy && steady.score < 100)
        }
    }

    /// `baseline.drop_power` (2 by default): a steady account's week 40% down (a quiet month) is still
    /// named but costs about 18 points instead of 40, and stays clear of the 15-point drop rule; at 1 it
    /// does not. A collapse (down 95%) weighs as it does at 1.
    @Test func aDropPowerAboveOneNamesAModerateDropButWeighsItLess() {
        var config = ScoringConfig()
        #expect(config.dropPower == 2)
        config.dropPower = 1
        let proportional = HealthScorerTests(scorer: HealthScorer(config: config))
        for seed in UInt64(1)...3 {
            let linear = proportional.dipped(mean: 200, spread: 6, dip: 0.4, seed: seed)
            let weighed = dipped(mean: 200, spread: 6, dip: 0.4, seed: seed)
            for e in [linear, weighed] {
                let logins = e.signals.first { $0.code == SignalCode.loginsDown }
                #expect(abs((logins?.value ?? 0) + 0.4) < 0.05, "about -40%: \(e.signals.map(\.text))")
            }
            #expect(linear.score <= 85, "linear: \(linear.score)")
            #expect(weighed.score > 85 && weighed.score < 100, "weighed: \(weighed.score)")
            let collapse = dipped(mean: 200, spread: 6, dip: 0.95, seed: seed)
            let linearCollapse = proportional.dipped(mean: 200, spread: 6, dip: 0.95, seed: seed)
            #expect(collapse.score == linearCollapse.score, "a collapse: \(collapse.score), \(linearCollapse.score)")
        }
    }

    /// A moderate drop with a risk of another kind beside it (here the champion leaving) counts in
    /// proportion, as at `drop_power: 1`: the two together say more than either alone.
    @Test func aModerateDropWithTheChampionLeavingCountsInFull() {
        var config = ScoringConfig()
        config.dropPower = 1
        let proportional = HealthScorerTests(scorer: HealthScorer(config: config))
        for seed in UInt64(1)...3 {
            let alone = dipped(mean: 200, spread: 6, dip: 0.4, seed: seed)
            let corroborated = dipped(mean: 200, spread: 6, dip: 0.4, seed: seed, championLeaves: true)
            let linear = proportional.dipped(mean: 200, spread: 6, dip: 0.4, seed: seed, championLeaves: true)
            func loginsImpact(_ e: HealthEvaluation) -> Double {
                e.signals.first { $0.code == SignalCode.loginsDown }?.impact ?? 0
            }
            #expect(corroborated.signals.contains { $0.code == SignalCode.championLeft })
            // Impacts are negative: the corroborated drop weighs more than twice as much as alone.
            #expect(-loginsImpact(corroborated) > 2 * -loginsImpact(alone), "\(corroborated.signals.map(\.text))")
            #expect(loginsImpact(corroborated) == loginsImpact(linear))
            #expect(corroborated.score == linear.score && corroborated.score <= 80, "\(corroborated.score)")
        }
    }

    /// Weekday logins around 200 (spread 6) at `level(day)` of normal for `days` days; the evaluation
    /// at the end, by `scorer`.
    /// With `championLeavesOn`, the champion leaves on that day.
    static func evaluated(
        _ scorer: HealthScorer, days: Int, seed: UInt64 = 7, championLeavesOn: Int? = nil, level: (Int) -> Double
    ) -> HealthEvaluation {
        let start = Timestamp(year: 2026, month: 9, day: 7)
        var rng = SplitMix64(seed, 1, 2)
        var state = scorer.makeState(accountId: "a")
        var f = EventFactory(account: "a")
        for d in 0..<days {
            let day = start.adding(days: Int64(d))
            if d == championLeavesOn {
                _ = scorer.apply(f.make(.championLeft, at: day.adding(seconds: 7 * 3600), user: "u0"), to: &state)
            }
            guard day.weekday < 5 else { continue }
            let n = max(0, Int(((200 + 6 * (2 * rng.unit() - 1)) * level(d)).rounded()))
            for k in 0..<n {
                _ = scorer.apply(
                    f.make(.login, at: day.adding(seconds: Int64(8 * 3600 + k * 60)), user: "u\(k % 50)"), to: &state)
            }
        }
        _ = scorer.advance(to: start.adding(days: Int64(days)), state: &state)
        return scorer.evaluation(of: &state)
    }

    /// `baseline.decline_lag_days`: a decline over three weeks, which the usual baseline follows down
    /// (and whose own days widen its spread), is judged against the account's level before it; a quiet
    /// month that has become the account's normal is not.
    @Test func aSlowDeclineIsJudgedAgainstTheLevelBeforeIt() {
        var off = ScoringConfig()
        off.declineLagDays = 0
        let withoutLag = HealthScorer(config: off)
        // Down from 1 to 0.2 over 21 days from day 42: on some day of its second and third weeks, the
        // drop against the earlier level is the one named, and weighs more than the usual one alone.
        let decline = { (d: Int) in d < 42 ? 1.0 : max(0.2, 1 - 0.8 * Double(d - 42) / 21) }
        var seen: [String] = []
        var earlierNamed = false
        for days in 49...63 {
            let judged = Self.evaluated(scorer, days: days, level: decline)
            let usualOnly = Self.evaluated(withoutLag, days: days, level: decline)
            let logins = judged.signals.first { $0.code == SignalCode.loginsDown }
            seen.append("day \(days): \(judged.score) vs \(usualOnly.score) \(logins?.text ?? "-")")
            if logins?.text.hasSuffix("vs its level 3-7 weeks ago") == true, judged.score < usualOnly.score {
                earlierNamed = true
            }
            #expect(judged.score <= usualOnly.score, "\(seen)")
        }
        #expect(earlierNamed, "\(seen)")
        // A quiet month (60% from day 42), from its third week: the usual baseline has it as normal.
        let quiet = { (d: Int) in d < 42 ? 1.0 : 0.6 }
        for days in 58...70 {
            let month = Self.evaluated(scorer, days: days, level: quiet)
            #expect(!month.signals.contains { $0.text.contains("weeks ago") }, "\(days): \(month.signals.map(\.text))")
            #expect(month.score == Self.evaluated(withoutLag, days: days, level: quiet).score, "day \(days)")
        }
    }

    /// With a risk of another kind beside it, an account scores exactly as at `drop_power: 1` on every
    /// day of a decline, whichever window (the week, the dark spell, the level 3-7 weeks ago) names the
    /// drop: each way of weighing picks its own worse window.
    @Test func aCorroboratedDeclineScoresAsAtDropPowerOne() {
        var config = ScoringConfig()
        config.dropPower = 1
        let proportional = HealthScorer(config: config)
        var differing: [String] = []
        var below = 0
        for (depth, weeks) in [(0.2, 1), (0.4, 2), (0.6, 3)] {
            for seed in UInt64(1)...2 {
                let decline = { (d: Int) in
                    d < 42 ? 1.0 : max(depth, 1 - (1 - depth) * Double(d - 42) / Double(7 * weeks))
                }
                for days in stride(from: 49, through: 71, by: 2) {
                    let weighed = Self.evaluated(scorer, days: days, seed: seed, championLeavesOn: 42, level: decline)
                    let linear = Self.evaluated(
                        proportional, days: days, seed: seed, championLeavesOn: 42, level: decline)
                    if weighed.score != linear.score {
                        differing.append("\(depth) \(seed) day \(days): \(weighed.score) vs \(linear.score)")
                    }
                    let alone = Self.evaluated(scorer, days: days, seed: seed, level: decline)
                    if alone.score > weighed.score { below += 1 }
                }
            }
        }
        #expect(differing.isEmpty, "\(differing)")
        #expect(below > 0, "the champion leaving moved no score")
    }

    @Test func paymentFailureIsEmittedAtOnceWithItsRef() throws {
        var state = scorer.makeState(accountId: "acme")
        var f = EventFactory(account: "acme")
        let t0 = start.adding(seconds: 36_000)
        let first = try #require(scorer.apply(f.make(.login, at: t0, user: "u1"), to: &state).record)
        #expect(first.reasons == [.first] && first.score == 100 && first.eventIds == ["acme-1"])
        #expect(
            scorer.apply(f.make(.login, at: t0.adding(seconds: 60), user: "u2"), to: &state).record == nil,
            "nothing changed")
        let failed = f.make(
            .paymentFailed, at: t0.adding(seconds: 120),
            EventProperties(amount: 1200, currency: "USD", paymentId: "pay-7", invoiceId: "inv-3"))
        let record = try #require(scorer.apply(failed, to: &state).record)
        #expect(
            record.triggers == [
                Trigger(
                    type: .paymentFailed, eventId: failed.eventId, occurredAt: failed.occurredAt, ref: "pay-7",
                    amount: 1200, currency: "USD")
            ])
        #expect(record.reasons.contains(.businessEvent) && record.reasons.contains(.scoreStep))
        #expect(record.eventIds == ["acme-2", "acme-3"], "the events since the last record")
        #expect(record.signals.first?.text == "1 failed payment in 7 days")
        let retry = f.make(.billingRetryFailed, at: t0.adding(days: 3), EventProperties(invoiceId: "inv-3"))
        let r2 = try #require(scorer.apply(retry, to: &state).record)
        #expect(r2.triggers.first?.ref == "inv-3")
        #expect(r2.signals.map(\.code).prefix(2) == [SignalCode.billingRetryFailed, SignalCode.paymentFailures])
        let paid = try #require(
            scorer.apply(
                f.make(.paymentSucceeded, at: t0.adding(days: 4), EventProperties(paymentId: "pay-8")), to: &state
            ).record)
        #expect(paid.score > r2.score, "paying softens the billing signals")
        #expect(paid.signals.contains { $0.text == "Billing retry failed yesterday, paid since" })
    }

    @Test func championSeatsAndCancellationAreTriggers() throws {
        var state = scorer.makeState(accountId: "a")
        var f = EventFactory(account: "a")
        let t = start.adding(seconds: 40_000)
        _ = scorer.apply(f.make(.seatsChanged, at: t, EventProperties(seats: 40)), to: &state)
        let seats = try #require(
            scorer.apply(f.make(.seatsChanged, at: t.adding(days: 2), EventProperties(seats: 30)), to: &state).record)
        #expect(seats.triggers.first?.seatsBefore == 40 && seats.triggers.first?.seatsAfter == 30)
        #expect(seats.signals.first { $0.code == SignalCode.seatsDown }?.text == "Seats -25% in 14 days (40 to 30)")
        let champion = try #require(
            scorer.apply(f.make(.championLeft, at: t.adding(days: 3), user: "u-champ"), to: &state).record)
        #expect(champion.triggers.first?.type == .championLeft && champion.triggers.first?.ref == "u-champ")
        let cancelled = try #require(
            scorer.apply(f.make(.subscriptionCancelled, at: t.adding(days: 4)), to: &state).record)
        #expect(cancelled.cancellationScheduled && cancelled.score <= 45 && cancelled.zone == .atRisk)
        // An older account_updated cannot undo a newer cancellation; a newer one can.
        let stale = scorer.apply(
            f.make(.accountUpdated, at: t.adding(days: 3).adding(seconds: 5), EventProperties(status: "active")),
            to: &state)
        #expect(stale.disposition == .applied && state.cancellationScheduled)
        let reactivated = try #require(
            scorer.apply(
                f.make(.accountUpdated, at: t.adding(days: 5), EventProperties(cancellationScheduled: false)),
                to: &state
            ).record)
        #expect(!reactivated.cancellationScheduled && reactivated.score > 45)
    }

    @Test func renewalProfileAndZonesComeFromAccountUpdated() throws {
        var state = scorer.makeState(accountId: "a")
        var f = EventFactory(account: "a")
        let t = start.adding(seconds: 40_000)
        let r = try #require(
            scorer.apply(
                f.make(
                    .accountUpdated, at: t,
                    EventProperties(
                        name: "<!channel> Acme", tier: .enterprise, mrr: 9000, owner: "U1", renewalDate: "2026-09-28",
                        timezone: "UTC", url: "https://crm/acme")), to: &state
            ).record)
        #expect(
            r.profile
                == AccountProfile(
                    name: "<!channel> Acme", tier: .enterprise, mrr: 9000, owner: "U1", url: "https://crm/acme",
                    renewalDate: "2026-09-28", timezone: "UTC"))
        #expect(r.signals.first?.text == "Renewal in 21 days")
    }

    @Test func sameEventsGiveByteIdenticalRecords() throws {
        func run() throws -> [UInt8] {
            var state = scorer.makeState(accountId: "a")
            var f = EventFactory(account: "a")
            var out: [UInt8] = []
            for d in 0..<40 {
                let t = start.adding(days: Int64(d)).adding(seconds: 36_000)
                for k in 0..<(d < 30 ? 20 : 2) {
                    if let r = scorer.apply(f.make(.login, at: t.adding(seconds: Int64(k)), user: "u\(k)"), to: &state)
                        .record
                    {
                        out += try RecordCoding.encode(r)
                    }
                }
                if d % 9 == 0,
                    let r = scorer.apply(f.make(.ticketOpened, at: t, EventProperties(sentiment: -0.8)), to: &state)
                        .record
                {
                    out += try RecordCoding.encode(r)
                }
            }
            return out
        }
        let a = try run()
        #expect(!a.isEmpty)
        #expect(try run() == a)
    }

    @Test func advanceWithinTheSameDayOrBackwardsDoesNothing() {
        var state = scorer.makeState(accountId: "a")
        var f = EventFactory(account: "a")
        #expect(scorer.advance(to: start, state: &state) == nil, "an empty state has nothing to score")
        _ = scorer.apply(f.make(.login, at: start.adding(seconds: 3600), user: "u"), to: &state)
        #expect(scorer.advance(to: start.adding(seconds: 7200), state: &state) == nil)
        #expect(scorer.advance(to: start, state: &state) == nil)
        #expect(state.validAt == start.adding(seconds: 7200))
    }
}
