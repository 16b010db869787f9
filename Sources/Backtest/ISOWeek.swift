import Contracts

/// An ISO 8601 week (weeks start on Monday; week 1 holds the year's first Thursday), for the
/// per-week figures of a backtest.
public struct ISOWeek: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The ISO week-numbering year (may differ from the calendar year around New Year).
    public var year: Int
    /// 1...53.
    public var week: Int

    /// An ISO week by its numbers (not checked: week 53 of a 52-week year is the next year's first).
    public init(year: Int, week: Int) {
        self.year = year
        self.week = week
    }

    /// The ISO week of the UTC day `time` falls in.
    public init(_ time: Timestamp) {
        self.init(epochDay: time.epochDay)
    }

    /// The ISO week of a day index since 1970-01-01.
    public init(epochDay day: Int64) {
        let weekday = Timestamp.startOfDay(day).weekday  // 0 = Monday
        let thursday = day - Int64(weekday) + 3
        let year = Timestamp.civilDate(epochDay: thursday).year
        let firstOfYear = Timestamp.epochDay(year: year, month: 1, day: 1)
        self.init(year: Int(year), week: Int((thursday - firstOfYear) / 7) + 1)
    }

    /// Monday 00:00Z of this week.
    public var start: Timestamp {
        // Week 1 holds January 4th.
        let jan4 = Timestamp.epochDay(year: Int64(year), month: 1, day: 4)
        let monday1 = jan4 - Int64(Timestamp.startOfDay(jan4).weekday)
        return Timestamp.startOfDay(monday1 + Int64(week - 1) * 7)
    }

    /// The week after this one.
    public var next: ISOWeek { ISOWeek(epochDay: start.epochDay + 7) }

    /// `2026-W43`.
    public var description: String { "\(year)-W\(week < 10 ? "0" : "")\(week)" }

    /// Earlier weeks first.
    public static func < (a: ISOWeek, b: ISOWeek) -> Bool { (a.year, a.week) < (b.year, b.week) }

    /// Every week from `first` to `last`, both included (empty when `last` is before `first`).
    public static func range(_ first: ISOWeek, _ last: ISOWeek) -> [ISOWeek] {
        var out: [ISOWeek] = []
        var w = first
        while w <= last {
            out.append(w)
            w = w.next
        }
        return out
    }
}
