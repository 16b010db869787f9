import AlertRules
import Contracts
import Testing

/// Response SLAs count working time in the destination's zone: the due time of an alert, as a
/// table (weekends, closing time, daylight-saving changes in America/New_York), and hostile values
/// that must not trap.
@Suite struct BusinessHoursTests {
    typealias T = TestSupport

    static let newYork = BusinessHours.standard(timeZone: "America/New_York")
    static let hour: Int64 = 3_600_000

    struct Case: Sendable, CustomTestStringConvertible {
        var what: String
        var raised: String
        var hours: Int64
        var due: String
        var testDescription: String { what }
    }

    static let table: [Case] = [
        Case(what: "inside the day", raised: "2026-11-16T15:00:00Z", hours: 4, due: "2026-11-16T19:00:00Z"),
        Case(what: "across closing time", raised: "2026-11-16T20:00:00Z", hours: 4, due: "2026-11-17T16:00:00Z"),
        Case(what: "before opening", raised: "2026-11-16T12:00:00Z", hours: 4, due: "2026-11-16T18:00:00Z"),
        Case(what: "at closing time", raised: "2026-11-16T22:00:00Z", hours: 4, due: "2026-11-17T18:00:00Z"),
        Case(what: "Friday afternoon to Monday", raised: "2026-11-20T20:00:00Z", hours: 4, due: "2026-11-23T16:00:00Z"),
        Case(what: "raised on Saturday", raised: "2026-11-21T17:00:00Z", hours: 4, due: "2026-11-23T18:00:00Z"),
        Case(what: "raised on Sunday night", raised: "2026-11-23T03:00:00Z", hours: 4, due: "2026-11-23T18:00:00Z"),
        Case(what: "high: 24 h is three days", raised: "2026-11-16T14:00:00Z", hours: 24, due: "2026-11-18T22:00:00Z"),
        Case(
            what: "medium: 48 h over a weekend", raised: "2026-11-16T14:00:00Z", hours: 48, due: "2026-11-23T22:00:00Z"),
        Case(
            what: "spring forward (2027-03-14) over the weekend", raised: "2027-03-12T20:00:00Z", hours: 4,
            due: "2027-03-15T15:00:00Z"),
        Case(
            what: "fall back (2026-11-01) over the weekend", raised: "2026-10-30T19:00:00Z", hours: 4,
            due: "2026-11-02T16:00:00Z"),
        Case(what: "zero is at once", raised: "2026-11-21T17:00:00Z", hours: 0, due: "2026-11-21T17:00:00Z"),
    ]

    @Test(arguments: table) func dueTimeInNewYorkBusinessHours(_ c: Case) throws {
        let due = Self.newYork.due(from: T.time(c.raised).millisecondsSinceEpoch, adding: c.hours * Self.hour)
        #expect(due.map { Timestamp(millisecondsSinceEpoch: $0) } == T.time(c.due), "\(c.what)")
    }

    @Test func aZoneAndHoursOfTheirOwn() throws {
        // Every day, all day, in UTC: working time is clock time.
        let always = try #require(BusinessHours(timeZone: "UTC", days: Set(0...6), fromMinute: 0, toMinute: 1440))
        let start = T.time("2026-11-21T17:30:00Z").millisecondsSinceEpoch
        #expect(always.due(from: start, adding: 30 * Self.hour) == start + 30 * Self.hour)
        // Berlin, Mon-Thu 08:00-12:00: Thursday 11:00 + 2 h is Monday 09:00 (CET, UTC+1).
        let short = try #require(
            BusinessHours(timeZone: "Europe/Berlin", days: Set(0...3), fromMinute: 480, toMinute: 720))
        #expect(
            short.due(from: T.time("2026-11-19T10:00:00Z").millisecondsSinceEpoch, adding: 2 * Self.hour)
                == T.time("2026-11-23T08:00:00Z").millisecondsSinceEpoch)
    }

    @Test func hoursThatCannotBeAreRefused() {
        #expect(BusinessHours(timeZone: "Mars/Olympus", days: [0], fromMinute: 540, toMinute: 1020) == nil)
        #expect(BusinessHours(timeZone: "UTC", days: [], fromMinute: 540, toMinute: 1020) == nil)
        #expect(BusinessHours(timeZone: "UTC", days: [7], fromMinute: 540, toMinute: 1020) == nil)
        #expect(BusinessHours(timeZone: "UTC", days: [0], fromMinute: 1020, toMinute: 540) == nil)
        #expect(BusinessHours(timeZone: "UTC", days: [0], fromMinute: 540, toMinute: 540) == nil)
        #expect(BusinessHours(timeZone: "UTC", days: [0], fromMinute: -1, toMinute: 1441) == nil)
    }

    @Test func hostileValuesDoNotTrap() {
        let hours = Self.newYork
        let limit: Int64 = 1 << 50
        for start in [Int64.min, Int64.max, -limit, limit, 0, -1] {
            for amount in [Int64.min, -1, 0, 1, Self.hour, Int64.max] {
                let due = hours.due(from: start, adding: amount)
                if let due { #expect(due >= -limit && due <= limit) }
            }
        }
        // A negative or zero amount is due at the (clamped) start.
        #expect(hours.due(from: Int64.max, adding: -5) == limit)
        // Far more working time than the walk covers: no answer rather than a wrong one.
        #expect(hours.due(from: 0, adding: 1 << 50) == nil)
    }

    @Test func theDefaultsPerSeverity() {
        #expect(ResponseSLA.defaultRespondWithinMs(.critical) == 4 * Self.hour)
        #expect(ResponseSLA.defaultRespondWithinMs(.high) == 24 * Self.hour)
        #expect(ResponseSLA.defaultRespondWithinMs(.medium) == 48 * Self.hour)
        #expect(ResponseSLA.defaultRespondWithinMs(.low) == nil)
    }
}
