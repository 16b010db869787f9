import Contracts

/// One scorer partition's share of the population: the activity of its accounts per UTC day and
/// hour (a `PopulationActivity` that only counts), the last day it has sealed (as a replay does:
/// at the first event of a later day, or when its time moves into a later day) and the re-scoring
/// time its own time has reached. Every partition publishes its part to the compacted population
/// topic; every scorer reads them all and judges the sums (`PopulationActivity.takeCounts`), so a
/// holiday shared by the accounts of every partition is seen as one.
///
/// Its encoding is compact and versioned (about 230 bytes a day with activity: 35 days and the open
/// ones at most) and its decoder trusts nothing: a part another process wrote is input.
public struct PopulationPart: Sendable, Hashable {
    /// The counts (judging nothing: `minAccounts` 0).
    public private(set) var counts = PopulationActivity(minAccounts: 0, dipBelow: 0)
    /// The re-scoring time (ms since the epoch) this partition's time has reached: its counts of the
    /// hours before it are complete, less what arrives within the allowed lateness. Nil before any.
    public var reachedMilliseconds: Int64?

    static let version: UInt8 = 1
    /// More days than a part ever holds (35 kept, plus open days ahead within the clock skew).
    static let maxDays = 64
    /// Days a part may name: 1900 to 2200, well within what `Timestamp` admits.
    static let dayRange: ClosedRange<Int64> = -25_567...84_006
    /// Counts beyond this are not from a scorer (2^50 events a day).
    static let maxCount: UInt64 = 1 << 50

    /// An empty part.
    public init() {}

    /// The last day sealed (`.min` before the first seal).
    public var sealedThrough: Int64 { counts.sealedThrough }

    /// Nothing yet: no counts, no day sealed, no time reached (a partition that has seen no event).
    public var isEmpty: Bool {
        counts.sealedThrough == .min && reachedMilliseconds == nil && counts.firstDay == .max
    }

    /// Counts `event`, just applied to its account, as a replay counts it (`PopulationActivity
    /// .count(applied:activeBefore:activeAfter:)`; ignored once its day is sealed).
    public mutating func count(applied event: AccountEvent, activeBefore: Int32, activeAfter: Int32) {
        counts.count(applied: event, activeBefore: activeBefore, activeAfter: activeAfter)
    }

    /// Seals every day through `day` (no more of their events counted); older days are dropped.
    public mutating func seal(through day: Int64) { counts.seal(through: day) }

    /// The part's bytes: version, sealed day, first day, reached time, then each day's totals and
    /// its 24 hourly counts, in day order (so equal parts encode equally).
    public func encoded() -> [UInt8] {
        var out: [UInt8] = [Self.version]
        var flags: UInt8 = 0
        if counts.sealedThrough != .min { flags |= 1 }
        if counts.firstDay != .max { flags |= 2 }
        if reachedMilliseconds != nil { flags |= 4 }
        out.append(flags)
        if counts.sealedThrough != .min { Varint.append(signed: counts.sealedThrough, to: &out) }
        if counts.firstDay != .max { Varint.append(signed: counts.firstDay, to: &out) }
        if let reachedMilliseconds { Varint.append(signed: reachedMilliseconds, to: &out) }
        let days = Set(counts.totals.keys).union(counts.hourly.keys).sorted()
        Varint.append(UInt64(days.count), to: &out)
        for day in days {
            Varint.append(signed: day, to: &out)
            let total = counts.totals[day] ?? PopulationActivity.DayTotal()
            Varint.append(UInt64(clamping: total.events), to: &out)
            Varint.append(UInt64(clamping: total.accounts), to: &out)
            if let hours = counts.hourly[day] {
                out.append(1)
                for h in hours { Varint.append(UInt64(clamping: h), to: &out) }
            } else {
                out.append(0)
            }
        }
        return out
    }

    /// Decodes `encoded()`; throws `HealthModelError.populationDecoding` for anything else: another
    /// version, truncated or trailing bytes, more days than a part holds, a day outside 1900-2200,
    /// or a count no scorer writes.
    public init(decoding bytes: [UInt8]) throws(HealthModelError) {
        func fail(_ reason: String) -> HealthModelError { .populationDecoding(reason: reason) }
        guard bytes.count >= 3 else { throw fail("\(bytes.count) bytes") }
        guard bytes[0] == Self.version else { throw fail("version \(bytes[0]), expected \(Self.version)") }
        let flags = bytes[1]
        guard flags & ~7 == 0 else { throw fail("unknown flags \(flags)") }
        var at = 2
        func day(_ what: String) throws(HealthModelError) -> Int64 {
            let d: Int64
            do { d = try Varint.readSigned(from: bytes, at: &at) } catch { throw fail("\(what): \(error)") }
            guard Self.dayRange.contains(d) else { throw fail("\(what) \(d) outside 1900-2200") }
            return d
        }
        func count(_ what: String) throws(HealthModelError) -> Int64 {
            let n: UInt64
            do { n = try Varint.read(from: bytes, at: &at) } catch { throw fail("\(what): \(error)") }
            guard n <= Self.maxCount else { throw fail("\(what) \(n) beyond what a scorer counts") }
            return Int64(n)
        }
        let sealed = flags & 1 != 0 ? try day("sealed day") : .min
        let first = flags & 2 != 0 ? try day("first day") : .max
        if flags & 4 != 0 {
            let reached: Int64
            do { reached = try Varint.readSigned(from: bytes, at: &at) } catch { throw fail("reached time: \(error)") }
            let limit = (Self.dayRange.upperBound + 1) * Timestamp.millisecondsPerDay
            guard reached >= Self.dayRange.lowerBound * Timestamp.millisecondsPerDay, reached < limit else {
                throw fail("reached time \(reached) outside 1900-2200")
            }
            reachedMilliseconds = reached
        }
        let n = try count("day count")
        guard n <= Self.maxDays else { throw fail("\(n) days, at most \(Self.maxDays)") }
        var totals: [Int64: PopulationActivity.DayTotal] = [:]
        var hourly: [Int64: [Int64]] = [:]
        var previous = Int64.min
        for _ in 0..<n {
            let d = try day("day")
            guard d > previous else { throw fail("day \(d) out of order") }
            previous = d
            let events = try count("events of day \(d)")
            let accounts = try count("accounts of day \(d)")
            totals[d] = PopulationActivity.DayTotal(events: events, accounts: accounts)
            guard at < bytes.count else { throw fail("day \(d): truncated") }
            let hasHours = bytes[at]
            at += 1
            guard hasHours <= 1 else { throw fail("day \(d): hours flag \(hasHours)") }
            if hasHours == 1 {
                var hours = [Int64](repeating: 0, count: 24)
                for h in 0..<24 { hours[h] = try count("hour \(h) of day \(d)") }
                hourly[d] = hours
            }
        }
        guard at == bytes.count else { throw fail("\(bytes.count - at) bytes after the last day") }
        guard first == .max || totals.keys.allSatisfy({ $0 >= first }) else {
            throw fail("a day before the first day \(first)")
        }
        counts = PopulationActivity(counts: totals, hourly: hourly, firstDay: first, sealedThrough: sealed)
    }
}
