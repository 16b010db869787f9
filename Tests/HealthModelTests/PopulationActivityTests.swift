import Contracts
import TestSupport
import Testing

@testable import HealthModel

/// Population-aware baselines (issue 28 item 3): a dip most accounts share (a public holiday, an
/// outage of the event pipeline) is not one account's risk.
@Suite struct PopulationActivityTests {
    let start = Timestamp(year: 2026, month: 9, day: 7)  // a Monday
    /// Day 38 and 39 of the history: a Thursday and a Friday.
    let holiday: Set<Int> = [38, 39]

    /// A population of `accounts` active on weekdays (1,000 events each), quiet at weekends (100),
    /// over `days` days, with `holiday` at weekend level, sealed through the last day.
    func population(accounts: Int, days: Int = 42, holiday: Set<Int>, minAccounts: Int = 50) -> PopulationActivity {
        var p = PopulationActivity(minAccounts: minAccounts, dipBelow: 0.8)
        let first = start.epochDay
        for d in 0..<days {
            let day = first + Int64(d)
            let quiet = Timestamp.startOfDay(day).weekday >= 5 || holiday.contains(d)
            p.record(day: day, events: Int64(accounts) * (quiet ? 100 : 1000), newActiveAccounts: Int64(accounts))
            p.seal(through: day)
        }
        return p
    }

    @Test func aDaySharedByMostAccountsAtAFractionOfItsWeekdayNormalIsADipAndWeekendsAreNot() {
        let p = population(accounts: 200, holiday: holiday)
        let first = start.epochDay
        #expect(p.dip(on: first + 38) == 0.1)
        #expect(p.dip(on: first + 39) == 0.1)
        #expect(p.dips.count == 2, "weekends are judged against weekends: \(p.dips)")
        // A handful of accounts is not a population.
        #expect(population(accounts: 20, holiday: holiday).dips.isEmpty)
        // Off.
        #expect(population(accounts: 200, holiday: holiday, minAccounts: 0).dips.isEmpty)
    }

    @Test func aSealedDayNeverChangesAndADayWithoutAnyActivityIsADip() {
        var p = population(accounts: 200, days: 36, holiday: [])
        let first = start.epochDay
        // Day 36 passes without a single event (the fleet's own pipeline is down), day 37 is normal.
        p.seal(through: first + 36)
        p.record(day: first + 37, events: 200_000, newActiveAccounts: 200)
        p.seal(through: first + 37)
        #expect(p.dip(on: first + 36) == 0)
        #expect(p.dip(on: first + 37) == nil)
        // A late event of a sealed day is not counted.
        p.record(day: first + 36, events: 1_000_000, newActiveAccounts: 200)
        p.seal(through: first + 38)
        #expect(p.dip(on: first + 36) == 0)
        #expect(p.totals[first + 36] == nil)
    }

    /// The first hours of a holiday, before its day can be sealed: the share so far against the
    /// same hours of the same weekday in the weeks before, only when it is a dip, never for a
    /// sealed day, nil for a handful of accounts.
    @Test func thePartOfTodayThatPassedIsJudgedByTheSameHoursOfTheWeeksBefore() {
        func population(accounts: Int, today: (Int) -> Int64) -> PopulationActivity {
            var p = PopulationActivity(minAccounts: 50, dipBelow: 0.8)
            let first = start.epochDay
            for d in 0..<29 {
                let day = first + Int64(d)
                for hour in 0..<24 {
                    let events = d == 28 ? today(hour) : Int64(accounts) * (hour >= 8 && hour < 18 ? 10 : 1)
                    guard events > 0 else { continue }
                    p.record(day: day, hour: hour, events: events, newActiveAccounts: hour == 0 ? Int64(accounts) : 0)
                }
                if d < 28 { p.seal(through: day) }
            }
            return p
        }
        let today = start.epochDay + 28  // a Monday, like the four before it
        // By 12:00 a holiday has brought a tenth of a normal morning: a shared dip so far.
        let holiday = population(accounts: 200) { hour in 200 * (hour >= 8 && hour < 18 ? 1 : 0) }
        let share = holiday.shareSoFar(day: today, beforeHour: 12)
        #expect(share.map { abs($0 - 800.0 / 9600) < 1e-9 } == true, "share so far \(share as Any)")
        // The hours before anyone works say nothing yet; a normal morning is not a dip.
        #expect(holiday.shareSoFar(day: today, beforeHour: 0) == nil)
        let normal = population(accounts: 200) { hour in 200 * (hour >= 8 && hour < 18 ? 10 : 1) }
        #expect(normal.shareSoFar(day: today, beforeHour: 12) == nil)
        // A handful of accounts is not a population.
        #expect(population(accounts: 20) { _ in 0 }.shareSoFar(day: today, beforeHour: 12) == nil)
        // A sealed day is judged whole, at any hour: the holiday's whole day against the normal one.
        var sealed = holiday
        sealed.seal(through: today)
        let whole = 2000.0 / Double(200 * (10 * 10 + 14))
        #expect(sealed.dip(on: today).map { abs($0 - whole) < 1e-9 } == true, "\(sealed.dip(on: today) as Any)")
        #expect(sealed.shareSoFar(day: today, beforeHour: 12) == sealed.dip(on: today))
        #expect(sealed.shareSoFar(day: today, beforeHour: 23) == sealed.dip(on: today))
        var normalSealed = normal
        normalSealed.seal(through: today)
        #expect(normalSealed.shareSoFar(day: today, beforeHour: 12) == nil)
        // A kept answer is the answer, until the population changes; it is not part of equality.
        var kept = holiday
        kept.memoizeShareSoFar(day: today, beforeHour: 12)
        #expect(kept == holiday)
        #expect(kept.shareSoFar(day: today, beforeHour: 12) == share)
        #expect(kept.shareSoFar(day: today, beforeHour: 11) == holiday.shareSoFar(day: today, beforeHour: 11))
        kept.record(day: today, hour: 9, events: 9_000)
        #expect(kept.shareSoFar(day: today, beforeHour: 12) == nil, "a normal morning after all: no dip")
    }

    /// The median of the four weeks of a normal, without an allocation: the same value as sorting.
    @Test(arguments: [[], [7], [3, 1], [5, 9, 1], [4, 4, 2, 8], [10, -2, 7, 7], [1, 2, 3, 4, 5]] as [[Int64]])
    func medianOfFourIsTheSortedMedian(values: [Int64]) {
        var m = MedianOfFour()
        for v in values { m.append(v) }
        let s = values.prefix(4).sorted()
        let n = s.count
        let expected = n == 0 ? 0 : n % 2 == 1 ? Double(s[n / 2]) : (Double(s[n / 2 - 1]) + Double(s[n / 2])) / 2
        #expect(m.count == min(values.count, 4))
        #expect(m.median == expected)
    }

    /// One steady account (about 100 logins a weekday): 42 days, with `quiet` days at weekend level.
    func steady(quiet: Set<Int>, dark: Set<Int> = [], population: PopulationActivity?) -> HealthEvaluation {
        let scorer = HealthScorer()
        var state = scorer.makeState(accountId: "a")
        var f = EventFactory(account: "a")
        var rng = SplitMix64(3, 1, 2)
        for d in 0..<42 where !dark.contains(d) {
            let day = start.adding(days: Int64(d))
            let low = day.weekday >= 5 || quiet.contains(d)
            let n = low ? 3 : 95 + Int(rng.unit() * 10)
            for k in 0..<n {
                let t = day.adding(seconds: Int64(8 * 3600 + k * 200))
                _ = scorer.apply(f.make(.login, at: t, user: "u\(k % 30)"), to: &state, population: population)
                _ = scorer.apply(
                    f.make(.featureUsed, at: t.adding(seconds: 1), user: "u\(k % 30)", EventProperties(feature: "f1")),
                    to: &state, population: population)
            }
        }
        _ = scorer.advance(to: start.adding(days: 42), state: &state, population: population)
        return scorer.evaluation(of: &state, population: population)
    }

    @Test func aHolidayEveryAccountSharesIsNotAnAccountsRiskButTheSameDaysAloneAre() {
        let p = population(accounts: 200, holiday: holiday)
        // Alone (no population, or a population that worked on those days): a dark spell.
        let alone = steady(quiet: holiday, population: nil)
        #expect(alone.signals.contains { $0.code == SignalCode.loginsDown }, "\(alone.signals.map(\.text))")
        #expect(alone.score < 100)
        let unshared = steady(quiet: holiday, population: population(accounts: 200, holiday: []))
        #expect(unshared == alone)
        // Shared with the population: nothing to say.
        let shared = steady(quiet: holiday, population: p)
        #expect(shared.signals.isEmpty, "\(shared.signals.map(\.text))")
        #expect(shared.score == 100)
    }

    @Test func anAccountThatStopsAcrossASharedHolidayIsStillSeenAndTheTextSaysWhatWasAllowedFor() throws {
        let p = population(accounts: 200, holiday: holiday)
        // Dark from the Monday of the holiday's week: Monday to Wednesday are the account's own silence.
        let e = steady(quiet: holiday, dark: Set(35...41), population: p)
        let logins = try #require(e.signals.first { $0.code == SignalCode.loginsDown }, "\(e.signals.map(\.text))")
        #expect(logins.text.contains("quiet fleet-wide"), "\(logins.text)")
        let idle = try #require(e.signals.first { $0.code == SignalCode.inactivity }, "\(e.signals.map(\.text))")
        // The silence is judged on the account's own rhythm: Monday to Wednesday and the weekend
        // expect about 100 logins a working day; the holiday's two days expect a tenth of that.
        #expect(
            idle.text.hasPrefix("No activity for 8 days (2 of them quiet fleet-wide or on holiday, not counted, about ")
                && idle.text.hasSuffix(" logins expected)"), "\(idle.text)")
    }

    @Test func theScoringFileTurnsThePopulationOffOrTunesIt() throws {
        let off = try ScoringConfig(yaml: "population:\n  min_accounts: 0\n", file: "s.yaml")
        #expect(PopulationActivity(config: off) == nil)
        let tuned = try ScoringConfig(yaml: "population:\n  min_accounts: 500\n  dip_below: 0.5\n", file: "s.yaml")
        let p = try #require(PopulationActivity(config: tuned))
        #expect(p.minAccounts == 500 && p.dipBelow == 0.5)
        #expect(throws: HealthModelError.self) {
            _ = try ScoringConfig(yaml: "population:\n  dip_below: 1.5\n", file: "s")
        }
        #expect(PopulationActivity(config: ScoringConfig()) == PopulationActivity(minAccounts: 50, dipBelow: 0.8))
    }

    /// Replay keeps the population: 60 steady accounts, all quiet on a shared Thursday and Friday.
    @Test func replayKeepsThePopulationSoASharedHolidayLeavesEveryAccountHealthy() async throws {
        try await CPULane.run {
            var lines: [[UInt8]] = []
            for d in 0..<42 {
                let day = start.adding(days: Int64(d))
                let low = day.weekday >= 5 || holiday.contains(d)
                for k in 0..<(low ? 2 : 40) {
                    for a in 0..<60 {
                        let t = day.adding(seconds: Int64(8 * 3600 + k * 600 + a))
                        lines.append(
                            Array(
                                "{\"event_id\":\"e-\(a)-\(d)-\(k)\",\"account_id\":\"acct-\(a)\",\"type\":\"login\",\"occurred_at\":\"\(t.rfc3339)\",\"user_id\":\"u\(k % 12)\"}"
                                    .utf8))
                    }
                }
            }
            func run(_ config: ScoringConfig) -> (Replay, [ScoreRecord]) {
                var replay = Replay(scorer: HealthScorer(config: config))
                var records: [ScoreRecord] = []
                for line in lines { line.withUnsafeBufferPointer { replay.process(line: $0) { records.append($0) } } }
                replay.advanceAll(to: start.adding(days: 42)) { records.append($0) }
                return (replay, records)
            }
            let (replay, records) = run(ScoringConfig())
            #expect(replay.population?.dips.count == 2)
            // Deterministic: the same bytes again.
            var first: [UInt8] = []
            var second: [UInt8] = []
            for r in records { try ScoreRecordWriter.appendLine(r, to: &first) }
            for r in run(ScoringConfig()).1 { try ScoreRecordWriter.appendLine(r, to: &second) }
            #expect(!first.isEmpty && first == second)
            #expect(
                records.allSatisfy { $0.signals.isEmpty }, "\(records.first { !$0.signals.isEmpty }?.signals ?? [])")
            var off = ScoringConfig()
            off.populationMinAccounts = 0
            let (alone, aloneRecords) = run(off)
            #expect(alone.population == nil)
            #expect(aloneRecords.contains { $0.signals.contains { $0.code == SignalCode.loginsDown } })
        }
    }

    /// The scoring file's holiday calendar: an account of the region is expected nothing on them.
    @Test func aRegionsHolidayCalendarIsTheAccountsOwnQuietDays() throws {
        // Day 38 and 39 are 2026-10-15 and 2026-10-16.
        let config = try ScoringConfig(
            yaml: "holidays:\n  Europe/Berlin: 2026-10-15, 2026-10-16\n  Asia/Tokyo: 2026-01-01\n", file: "s.yaml")
        #expect(config.holidays["Europe/Berlin"] == [start.epochDay + 38, start.epochDay + 39])
        #expect(throws: HealthModelError.self) {
            _ = try ScoringConfig(yaml: "holidays:\n  Europe/Berlin: 2026-13-01\n", file: "s.yaml")
        }
        func evaluate(timezone: String) -> HealthEvaluation {
            let scorer = HealthScorer(config: config)
            var state = scorer.makeState(accountId: "a")
            var f = EventFactory(account: "a")
            _ = scorer.apply(f.make(.accountUpdated, at: start, EventProperties(timezone: timezone)), to: &state)
            for d in 0..<42 {
                let day = start.adding(days: Int64(d))
                let low = day.weekday >= 5 || holiday.contains(d)
                for k in 0..<(low ? 3 : 100) {
                    let t = day.adding(seconds: Int64(8 * 3600 + k * 200))
                    _ = scorer.apply(f.make(.login, at: t, user: "u\(k % 30)"), to: &state)
                }
            }
            _ = scorer.advance(to: start.adding(days: 42), state: &state)
            return scorer.evaluation(of: &state)
        }
        let berlin = evaluate(timezone: "Europe/Berlin")
        #expect(berlin.signals.isEmpty, "\(berlin.signals.map(\.text))")
        let elsewhere = evaluate(timezone: "America/New_York")
        #expect(elsewhere.signals.contains { $0.code == SignalCode.loginsDown }, "\(elsewhere.signals.map(\.text))")
    }
}
