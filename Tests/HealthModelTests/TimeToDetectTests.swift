import Contracts
import Testing

@testable import HealthModel

/// The health model judged on time to detect: a steady account that stops is seen within days, a
/// holiday or a quiet weekend is not a dark spell, and growth must last to count.
@Suite struct TimeToDetectTests {
    let start = Timestamp(year: 2026, month: 9, day: 7)  // a Monday

    /// 42 days of a steady weekday account (`perDay` users log in and use a feature), then `tail`
    /// days shaped by `level(dayIndex)`; returns the evaluation at the midnight after them.
    func account(perDay: Int, tail: Int, scorer: HealthScorer = HealthScorer(), level: (Int) -> Double)
        -> HealthEvaluation
    {
        var state = scorer.makeState(accountId: "a")
        var f = EventFactory(account: "a")
        var rng = SplitMix64(7, 1, 2)
        for d in 0..<(42 + tail) {
            let day = start.adding(days: Int64(d))
            let weekend = day.weekday >= 5
            let l = d >= 42 ? level(d - 42) : 1
            let n = Int((Double(perDay) * (weekend ? 0.1 : 1) * l * (0.95 + 0.1 * rng.unit())).rounded())
            for k in 0..<n {
                let t = day.adding(seconds: Int64(8 * 3600 + k * 60))
                _ = scorer.apply(f.make(.login, at: t, user: "u\(k)"), to: &state)
                _ = scorer.apply(
                    f.make(
                        .featureUsed, at: t.adding(seconds: 1), user: "u\(k)", EventProperties(feature: "f\(k % 3)")),
                    to: &state)
                _ = scorer.apply(
                    f.make(.session, at: t.adding(seconds: 2), user: "u\(k)", EventProperties(minutes: 30)), to: &state)
            }
        }
        _ = scorer.advance(to: start.adding(days: Int64(42 + tail)), state: &state)
        return scorer.evaluation(of: &state)
    }

    @Test func aSteadyAccountDarkForTwoWorkingDaysIsAtRisk() {
        // Day 42 is a Monday: dark Monday and Tuesday, judged on Wednesday at midnight.
        let e = account(perDay: 50, tail: 2) { _ in 0 }
        #expect(e.zone != .healthy, "\(e.score) \(e.signals.map(\.text))")
        let logins = e.signals.first { $0.code == SignalCode.loginsDown }
        #expect(
            logins?.text.hasPrefix("Logins down ") == true
                && logins?.text.hasSuffix("% over the last 2 days vs 28-day baseline") == true, "\(logins?.text ?? "-")"
        )
        #expect((logins?.value ?? 0) < -0.8)
    }

    @Test func oneDarkWorkingDayIsNotATrend() {
        // A holiday on Monday: judged on Tuesday at midnight, and again after a normal Tuesday.
        let monday = account(perDay: 50, tail: 1) { _ in 0 }
        #expect(monday.score == 100, "\(monday.signals.map(\.text))")
        let after = account(perDay: 50, tail: 2) { $0 == 0 ? 0 : 1 }
        #expect(after.score == 100, "\(after.signals.map(\.text))")
    }

    @Test func aQuietWeekendAfterAQuietFridayIsNotADarkSpell() {
        // Friday (day 46) at 15%, then a weekend with nobody: judged on Monday at midnight.
        let e = account(perDay: 50, tail: 7) { $0 >= 4 ? ($0 == 4 ? 0.15 : 0) : 1 }
        #expect(!e.signals.contains { $0.text.contains("over the last") }, "\(e.signals.map(\.text))")
        #expect(e.zone == .healthy, "\(e.score)")
    }

    @Test func aSilenceIsJudgedOnTheAccountsOwnRhythm() throws {
        // A daily-active account dark on Monday and Tuesday: about 100 logins were expected.
        let steady = account(perDay: 50, tail: 2) { _ in 0 }
        let idle = try #require(steady.signals.first { $0.code == SignalCode.inactivity }, "\(steady.signals)")
        #expect(idle.text.hasPrefix("No activity for 3 days (about ") && idle.text.hasSuffix(" logins expected)"))
        // An account with one login a weekday, last active on a Friday and judged the next Friday at
        // midnight (7 idle days, more than the fixed rule's 3): about 4 logins expected, so no
        // evidence yet; 3 weeks later there is.
        let sparse = account(perDay: 1, tail: 4) { _ in 0 }
        #expect(!sparse.signals.contains { $0.code == SignalCode.inactivity }, "\(sparse.signals.map(\.text))")
        let gone = account(perDay: 1, tail: 21) { _ in 0 }
        #expect(gone.signals.contains { $0.code == SignalCode.inactivity }, "\(gone.signals.map(\.text))")
        // Off: the fixed rule.
        var config = ScoringConfig()
        config.inactivityMinExpected = 0
        let fixed = account(perDay: 1, tail: 4, scorer: HealthScorer(config: config)) { _ in 0 }
        #expect(fixed.signals.contains { $0.text == "No activity for 7 days" }, "\(fixed.signals.map(\.text))")
    }

    /// A silence counts from 10 logins expected (e^-10): looked at some fifteen times a month, an
    /// account is falsely silent less than once in a thousand months. One login a weekday, last active
    /// on a Friday: 8 weekdays later (8 expected) not yet, 13 weekdays later it counts; at the old
    /// threshold of 6 the 8 already did.
    @Test(
        arguments: [
            // (days after the last active week, min_expected, whether the silence counts)
            (10, 10.0, false), (17, 10.0, true), (10, 6.0, true),
        ] as [(Int, Double, Bool)])
    func aSilenceCountsFromTenLoginsExpected(tail: Int, minExpected: Double, counts: Bool) {
        var config = ScoringConfig()
        config.inactivityMinExpected = minExpected
        let e = account(perDay: 1, tail: tail, scorer: HealthScorer(config: config)) { _ in 0 }
        #expect(e.signals.contains { $0.code == SignalCode.inactivity } == counts, "\(e.signals.map(\.text))")
    }

    @Test func aSmallNoisyAccountNeedsMoreThanTwoDarkDays() {
        let e = account(perDay: 3, tail: 2) { _ in 0 }
        #expect(e.zone == .healthy, "\(e.score) \(e.signals.map(\.text))")
    }

    @Test func aOneDayBurstIsNotGrowthButLastingGrowthIs() {
        // One day at ten times the usual (a batch import, a training day), then normal days.
        let burst = account(perDay: 20, tail: 5) { $0 == 0 ? 10 : 1 }
        #expect(
            !burst.positiveSignals.contains { $0.code == SignalCode.usageGrowth },
            "\(burst.positiveSignals.map(\.text))")
        // Five working days at +60%.
        let lasting = account(perDay: 20, tail: 7) { _ in 1.6 }
        let growth = lasting.positiveSignals.first { $0.code == SignalCode.usageGrowth }
        #expect(growth.map { $0.value! >= 0.5 } == true, "\(lasting.positiveSignals.map(\.text))")
    }

    @Test func theShortWindowCanBeTurnedOff() throws {
        let config = try ScoringConfig(yaml: "baseline:\n  short_days: 0\n", file: "s.yaml")
        #expect(config.shortDays == 0)
        #expect(throws: HealthModelError.self) {
            try ScoringConfig(yaml: "baseline:\n  short_days: 2\n", file: "s.yaml")
        }
        #expect(throws: HealthModelError.self) {
            try ScoringConfig(yaml: "baseline:\n  short_days: 7\n", file: "s.yaml")
        }
        let e = account(perDay: 50, tail: 2, scorer: HealthScorer(config: config)) { _ in 0 }
        #expect(e.zone == .healthy, "without the short window two dark days are not yet at risk: \(e.score)")
        #expect(account(perDay: 50, tail: 2) { _ in 0 }.zone != .healthy)
    }
}
