import Contracts
import TestSupport
import Testing

@testable import HealthModel

/// One scorer partition's part of the population: what it publishes for the others, and how the
/// parts add up to the population a single replay of every account keeps.
@Suite struct PopulationPartTests {
    let start = Timestamp(year: 2026, month: 9, day: 7)  // a Monday

    /// The events of a labelled history with a shared holiday, as parsed events in order.
    static func events() throws -> [AccountEvent] {
        let history = LabelledHistory(options: .init(seed: 5, accounts: 60, days: 50, warmUpDays: 30))
        var out: [AccountEvent] = []
        let parser = EventParser()
        for day in 0..<history.options.days {
            for line in history.lines(forDay: day) { out.append(try parser.parse(line)) }
        }
        return out
    }

    /// A part with activity over `days` days, sealed through the one before last, reached at noon.
    func part(days: Int, eventsPerDay: Int = 3) -> PopulationPart {
        var p = PopulationPart()
        for d in 0..<days {
            for k in 0..<eventsPerDay {
                let at = start.adding(days: Int64(d)).adding(seconds: Int64(3600 * (k * 7 % 24) + k))
                let event = AccountEvent(
                    eventId: "e\(d)-\(k)", accountId: "a\(k)", type: .login, occurredAt: at, userId: nil)
                p.count(
                    applied: event, activeBefore: Int32(start.epochDay) + Int32(d) - 1, activeAfter: Int32(at.epochDay))
            }
        }
        p.seal(through: start.epochDay + Int64(days) - 2)
        p.reachedMilliseconds = start.adding(days: Int64(days - 1)).millisecondsSinceEpoch + 43_200_000
        return p
    }

    @Test(arguments: [0, 1, 7, 40])
    func aPartDecodesToItself(days: Int) throws {
        let p = days == 0 ? PopulationPart() : part(days: days)
        let bytes = p.encoded()
        #expect(try PopulationPart(decoding: bytes) == p)
        // Equal parts encode equally (a compacted topic and a reader compare bytes and values).
        #expect(try PopulationPart(decoding: bytes).encoded() == bytes)
        // Small: at most the 35 days kept and the open ones, each about 30 bytes here.
        #expect(bytes.count <= 3 + 36 * 40, "\(bytes.count) bytes for \(days) days")
    }

    @Test func bytesNoScorerWroteAreRefusedWithTheirReason() throws {
        let good = part(days: 5).encoded()
        var cases: [(String, [UInt8])] = [
            ("empty", []),
            ("another version", [2] + good.dropFirst()),
            ("unknown flags", [good[0], 0xF0] + good.dropFirst(2)),
            ("trailing byte", good + [0]),
            ("a day count beyond 64", [1, 0, 65]),
            ("a day beyond 2200", [1, 0, 1] + Self.signed(100_000) + [1, 1, 0]),
            ("days out of order", [1, 0, 2] + Self.signed(20_000) + [1, 1, 0] + Self.signed(19_999) + [1, 1, 0]),
            ("a count beyond 2^50", [1, 0, 1] + Self.signed(20_000) + Self.unsigned(1 << 51) + [1, 0]),
            ("an hours flag of 2", [1, 0, 1] + Self.signed(20_000) + [1, 1, 2]),
            ("a reached time beyond 2200", [1, 4] + Self.signed(Int64.max / 2) + [0]),
        ]
        // Every truncation of a good part.
        for n in 0..<good.count { cases.append(("\(n) of \(good.count) bytes", Array(good.prefix(n)))) }
        for (name, bytes) in cases {
            #expect(throws: HealthModelError.self, "\(name)") { try PopulationPart(decoding: bytes) }
        }
        // Random bytes never trap: refused or read as some part.
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            var bytes = good
            for _ in 0..<3 {
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            _ = try? PopulationPart(decoding: bytes)
        }
    }

    static func signed(_ v: Int64) -> [UInt8] {
        var out: [UInt8] = []
        Varint.append(signed: v, to: &out)
        return out
    }

    static func unsigned(_ v: UInt64) -> [UInt8] {
        var out: [UInt8] = []
        Varint.append(v, to: &out)
        return out
    }

    /// The accounts split over 1, 2, 3 or 5 parts, each counting and sealing its own events as a
    /// replay does: summed and sealed where all have sealed, they judge the same days as the one
    /// population of a replay over every account (the history is in time order within each day).
    /// The parts are taken at every change of day (where days are sealed) and every 61st event
    /// between (a take of a day still counting); taking them at every event costs 30 times more.
    @Test(arguments: [1, 2, 3, 5])
    func partsAddUpToThePopulationOfEveryAccount(parts n: Int) async throws {
        try await CPULane.run { try partsAddUp(parts: n) }
    }

    func partsAddUp(parts n: Int) throws {
        let events = try Self.events().sorted { $0.occurredAt < $1.occurredAt }
        var whole = PopulationActivity(minAccounts: 20, dipBelow: 0.8)
        var parts = [PopulationPart](repeating: PopulationPart(), count: n)
        var active: [String: Int32] = [:]
        var merged = PopulationActivity(minAccounts: 20, dipBelow: 0.8)
        var lastDay = Int64.min
        for (index, event) in events.enumerated() {
            let day = event.occurredAt.epochDay
            let p = Int(event.accountId.utf8.reduce(0) { $0 &+ Int($1) } % n)
            let before = active[event.accountId] ?? .min
            let after = event.type.isActivity ? Int32(day) : before
            active[event.accountId] = after
            if day - 1 > whole.sealedThrough { whole.seal(through: day - 1) }
            whole.count(applied: event, activeBefore: before, activeAfter: after)
            // Every part's time moves with the history (as live timers move a quiet partition).
            for q in 0..<n where day - 1 > parts[q].sealedThrough { parts[q].seal(through: day - 1) }
            parts[p].count(applied: event, activeBefore: before, activeAfter: after)
            if day != lastDay || index % 61 == 0 || index == events.count - 1 {
                merged.takeCounts(of: parts.map(\.counts), sealThrough: parts.map(\.sealedThrough).min()!)
            }
            lastDay = day
        }
        #expect(whole.dips.count >= 2, "the history's shared holiday")
        #expect(merged.dips == whole.dips)
        #expect(merged.totals == whole.totals && merged.hourly == whole.hourly)
        // A sealed day never changes: counts arriving for it later are not taken.
        let sealed = merged.sealedThrough
        var late = parts[0]
        late.count(
            applied: AccountEvent(
                eventId: "late", accountId: "x", type: .login, occurredAt: Timestamp.startOfDay(sealed), userId: nil),
            activeBefore: .min, activeAfter: Int32(sealed))
        #expect(late == parts[0])
    }

    /// Parts are summed in arrays when their days lie within `denseSumDays` of each other, by
    /// dictionary when not (a part read from the topic may hold any day of 1900-2200): both give
    /// every day's totals and hours, and the same sums for the days they share.
    @Test(arguments: [3, PopulationActivity.denseSumDays - 1, PopulationActivity.denseSumDays, 40_000])
    func partsAddUpWhereverTheirDaysLie(farDayOffset: Int64) {
        let d0 = start.epochDay
        var a = PopulationActivity(minAccounts: 0, dipBelow: 0)
        var b = PopulationActivity(minAccounts: 0, dipBelow: 0)
        a.record(day: d0, hour: 9, events: 4, newActiveAccounts: 2)
        a.record(day: d0 + 1, hour: 23, events: 1, newActiveAccounts: 1)
        a.record(day: d0 + 1, hour: nil, events: 2)
        b.record(day: d0 + 1, hour: 0, events: 5, newActiveAccounts: 3)
        b.record(day: d0 + farDayOffset, hour: 12, events: 7, newActiveAccounts: 1)
        var merged = PopulationActivity(minAccounts: 0, dipBelow: 0)
        merged.takeCounts(of: [a, b], sealThrough: .min)
        func hours(_ pairs: [Int: Int64]) -> [Int64] { (0..<24).map { pairs[$0] ?? 0 } }
        var totals: [Int64: PopulationActivity.DayTotal] = [
            d0: .init(events: 4, accounts: 2), d0 + 1: .init(events: 8, accounts: 4),
        ]
        totals[d0 + farDayOffset, default: .init()].events += 7
        totals[d0 + farDayOffset, default: .init()].accounts += 1
        var hourly: [Int64: [Int64]] = [d0: hours([9: 4]), d0 + 1: hours([0: 5, 23: 1])]
        hourly[d0 + farDayOffset, default: hours([:])][12] += 7
        #expect(merged.totals == totals)
        #expect(merged.hourly == hourly)
        #expect(merged.firstDay == d0)
    }
}
