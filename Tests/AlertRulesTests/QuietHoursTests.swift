import AlertRules
import Contracts
import Testing

/// Quiet hours: across midnight, in IANA time zones, through daylight-saving changes.
@Suite struct QuietHoursTests {
    typealias T = TestSupport

    func quiet(_ zone: String, _ windows: [QuietHours.Window]) -> QuietHours {
        QuietHours(timeZone: zone, windows: windows)!
    }

    let nightly = QuietHours.Window(days: Set(0...6), fromMinute: 22 * 60, toMinute: 7 * 60)

    @Test func acrossMidnightInNewYork() {
        let q = quiet("America/New_York", [nightly])
        // 23:00 EST (04:00Z) and 05:00 EST (10:00Z) are both in the night that ends at 07:00 EST = 12:00Z.
        #expect(q.end(containing: T.time("2026-11-18T04:00:00Z")) == T.time("2026-11-18T12:00:00Z"))
        #expect(q.end(containing: T.time("2026-11-18T10:00:00Z")) == T.time("2026-11-18T12:00:00Z"))
        #expect(q.end(containing: T.time("2026-11-18T03:00:00Z")) == T.time("2026-11-18T12:00:00Z"))
        // 21:59 and 07:00 are outside.
        #expect(q.end(containing: T.time("2026-11-18T02:59:00Z")) == nil)
        #expect(q.end(containing: T.time("2026-11-18T12:00:00Z")) == nil)
    }

    @Test func theSameWallClockIsADifferentInstantInBerlin() {
        let q = quiet("Europe/Berlin", [nightly])
        // 23:00 CET = 22:00Z; ends 07:00 CET = 06:00Z.
        #expect(q.end(containing: T.time("2026-11-18T22:00:00Z")) == T.time("2026-11-19T06:00:00Z"))
        // 23:00Z is midnight in Berlin: quiet; 23:00Z in New York is 18:00: not quiet.
        #expect(q.end(containing: T.time("2026-11-18T23:00:00Z")) == T.time("2026-11-19T06:00:00Z"))
        #expect(quiet("America/New_York", [nightly]).end(containing: T.time("2026-11-18T23:00:00Z")) == nil)
    }

    @Test func newYorkFallBackMakesTheNightAnHourLonger() {
        // DST ends Sunday 2026-11-01 at 02:00 EDT. 23:30 EDT on Oct 31 = 03:30Z; 07:00 EST = 12:00Z.
        let q = quiet("America/New_York", [nightly])
        #expect(q.end(containing: T.time("2026-11-01T03:30:00Z")) == T.time("2026-11-01T12:00:00Z"))
        // An end time that occurs twice (01:30) resolves to its first occurrence, 01:30 EDT = 05:30Z.
        let twice = quiet("America/New_York", [.init(days: Set(0...6), fromMinute: 22 * 60, toMinute: 90)])
        #expect(twice.end(containing: T.time("2026-11-01T03:00:00Z")) == T.time("2026-11-01T05:30:00Z"))
        // The night before, still EDT: 07:00 EDT = 11:00Z.
        #expect(q.end(containing: T.time("2026-10-31T03:30:00Z")) == T.time("2026-10-31T11:00:00Z"))
    }

    @Test func newYorkSpringForwardMakesTheNightAnHourShorter() {
        // DST starts Sunday 2026-03-08 at 02:00 EST. 23:00 EST on Mar 7 = 04:00Z; 07:00 EDT = 11:00Z.
        let q = quiet("America/New_York", [nightly])
        #expect(q.end(containing: T.time("2026-03-08T04:00:00Z")) == T.time("2026-03-08T11:00:00Z"))
        // An end time skipped by the change (02:30) resolves to the instant after the gap, shifted by it.
        let gap = quiet("America/New_York", [.init(days: Set(0...6), fromMinute: 22 * 60, toMinute: 2 * 60 + 30)])
        #expect(gap.end(containing: T.time("2026-03-08T04:00:00Z")) == T.time("2026-03-08T07:30:00Z"))
    }

    @Test func berlinDaylightSavingChanges() {
        let q = quiet("Europe/Berlin", [.init(days: Set(0...6), fromMinute: 20 * 60, toMinute: 7 * 60 + 30)])
        // DST ends Sunday 2026-10-25: 22:00 CEST Sat = 20:00Z; 07:30 CET = 06:30Z.
        #expect(q.end(containing: T.time("2026-10-24T20:00:00Z")) == T.time("2026-10-25T06:30:00Z"))
        // DST starts Sunday 2026-03-29: 22:00 CET Sat = 21:00Z; 07:30 CEST = 05:30Z.
        #expect(q.end(containing: T.time("2026-03-28T21:00:00Z")) == T.time("2026-03-29T05:30:00Z"))
        // A week later, plain CEST: 07:30 CEST = 05:30Z; the night before the change, CET: 06:30Z.
        #expect(q.end(containing: T.time("2026-04-04T21:00:00Z")) == T.time("2026-04-05T05:30:00Z"))
        #expect(q.end(containing: T.time("2026-03-27T21:00:00Z")) == T.time("2026-03-28T06:30:00Z"))
    }

    @Test func windowsApplyOnTheirDaysAndChainIntoEachOther() {
        let nights = QuietHours.Window(days: Set(0...6), fromMinute: 19 * 60, toMinute: 8 * 60)
        let weekends = QuietHours.Window(days: [5, 6], fromMinute: 0, toMinute: 1440)
        let q = quiet("America/New_York", [nights, weekends])
        // Friday 2026-11-20 20:00 EST (Sat 01:00Z): Friday night, all Saturday and Sunday, Sunday night: Monday 08:00 EST.
        #expect(q.end(containing: T.time("2026-11-21T01:00:00Z")) == T.time("2026-11-23T13:00:00Z"))
        // Sunday noon: the same Monday morning.
        #expect(q.end(containing: T.time("2026-11-22T17:00:00Z")) == T.time("2026-11-23T13:00:00Z"))
        // Windows only on the days listed (the day a window starts): weekday nights only.
        let weekdayNights = quiet("America/New_York", [.init(days: Set(0...4), fromMinute: 19 * 60, toMinute: 8 * 60)])
        // Friday night runs into Saturday 08:00 ...
        #expect(weekdayNights.end(containing: T.time("2026-11-21T05:00:00Z")) == T.time("2026-11-21T13:00:00Z"))
        // ... but Saturday 23:00 is not quiet, nor is Sunday 05:00; Monday 05:00 belongs to no window either.
        #expect(weekdayNights.end(containing: T.time("2026-11-22T04:00:00Z")) == nil)
        #expect(weekdayNights.end(containing: T.time("2026-11-22T10:00:00Z")) == nil)
        #expect(weekdayNights.end(containing: T.time("2026-11-23T10:00:00Z")) == nil)
        // Tuesday 05:00 is the end of Monday night.
        #expect(weekdayNights.end(containing: T.time("2026-11-24T10:00:00Z")) == T.time("2026-11-24T13:00:00Z"))
    }

    static let destinations = """
          team:
            quiet_hours:
              timezone: America/New_York
              windows: [{days: every_day, from: "22:00", to: "07:00"}]
        """

    @Test func nonCriticalIsHeldByItsDestinationAndReleasedAtTheEndNeverDropped() throws {
        var p = PartitionEvaluator(
            engine: try T.engine(
                T.rules(T.atRiskRule, destinations: Self.destinations, routes: "  - {destination: team}"))
        )
        // 23:00 EST: high alert, held by the destination's schedule (the dispatcher's), not the account's state.
        #expect(p.process(T.record(at: "2026-11-18T04:00:00Z", score: 60)).isEmpty)
        #expect(p.waiting == 1)
        #expect(p.destinationStates["team"]?.held.count == 1)
        #expect(p.state(of: "acme")?.earlierHolds.isEmpty == true)
        #expect(p.nextDue == T.time("2026-11-18T12:00:00Z"))
        #expect(p.advance(to: T.time("2026-11-18T11:59:59Z")).isEmpty)
        let released = p.advance(to: T.time("2026-11-18T12:00:00Z"))
        #expect(released.count == 1)
        #expect(released.first?.notBefore == T.time("2026-11-18T12:00:00Z"))
        #expect(released.first?.raisedAt == T.time("2026-11-18T04:00:00Z"))
        #expect(p.waiting == 0)
        #expect(p.advance(to: T.time("2026-11-18T13:00:00Z")).isEmpty)
    }

    @Test func criticalGoesAtOnceEvenAtNight() throws {
        var p = PartitionEvaluator(
            engine: try T.engine(
                T.rules(T.atRiskRule, destinations: Self.destinations, routes: "  - {destination: team}"))
        )
        let alerts = p.process(T.record(at: "2026-11-18T04:00:00Z", score: 30))
        #expect(alerts.map(\.severity) == [.critical])
        #expect(alerts.first?.notBefore == nil)
        #expect(p.waiting == 0)
    }

    @Test func theRulesEngineAloneHoldsNothing() throws {
        // Quiet hours are the destination's: the engine raises the alert at once, for the schedule to hold.
        var run = Run(
            try T.engine(T.rules(T.atRiskRule, destinations: Self.destinations, routes: "  - {destination: team}")))
        let raised = run.feed(T.record(at: "2026-11-18T04:00:00Z", score: 60))
        #expect(raised.map(\.destination) == ["team"])
        #expect(raised.first?.notBefore == nil)
        #expect(run.state.nextDue == nil)
    }
}
