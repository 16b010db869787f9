import Contracts

/// Quiet hours of a destination: local windows in which non-critical alerts wait.
///
/// A window runs from `from` to `to` on each of its `days` (the day it starts). When `to` is not
/// after `from` the window crosses midnight and ends on the next day. Windows chain: an alert
/// deferred to the end of one window that falls inside another waits for that one's end too.
public struct QuietHours: Sendable, Equatable {
    public struct Window: Sendable, Equatable {
        /// 0 = Monday ... 6 = Sunday.
        public var days: Set<Int>
        /// Minutes after local midnight, 0...1439.
        public var fromMinute: Int
        /// Minutes after local midnight, 1...1440 (1440 = the next midnight).
        public var toMinute: Int

        public init(days: Set<Int>, fromMinute: Int, toMinute: Int) {
            self.days = days
            self.fromMinute = fromMinute
            self.toMinute = toMinute
        }

        var crossesMidnight: Bool { toMinute <= fromMinute }
    }

    let time: LocalTime
    public var windows: [Window]

    /// nil if `timeZone` is not a known IANA zone.
    public init?(timeZone: String, windows: [Window]) {
        guard let time = LocalTime(identifier: timeZone) else { return nil }
        self.time = time
        self.windows = windows
    }

    public var timeZone: String { time.identifier }

    /// If `instant` falls in quiet hours, the instant they end (following chained windows); else nil.
    public func end(containing instant: Timestamp) -> Timestamp? {
        var t = instant.millisecondsSinceEpoch
        var moved = false
        for _ in 0..<16 {
            guard let end = windowEnd(containing: t), end > t else { break }
            t = end
            moved = true
        }
        return moved ? Timestamp(millisecondsSinceEpoch: t) : nil
    }

    func windowEnd(containing t: Int64) -> Int64? {
        let (day, minute) = time.dayAndMinute(t)
        let weekday = LocalTime.weekday(ofDay: day)
        let yesterday = (weekday + 6) % 7
        var latest: Int64?
        for w in windows {
            var end: Int64?
            if w.crossesMidnight {
                if w.days.contains(weekday), minute >= w.fromMinute {
                    end = time.instant(day: day + 1, minute: w.toMinute)
                } else if w.days.contains(yesterday), minute < w.toMinute {
                    end = time.instant(day: day, minute: w.toMinute)
                }
            } else if w.days.contains(weekday), minute >= w.fromMinute, minute < w.toMinute {
                end = time.instant(day: day, minute: w.toMinute)
            }
            if let end, end > t { latest = max(latest ?? end, end) }
        }
        return latest
    }
}

/// A destination's digest: non-urgent alerts gathered into one message per day or week, sent at a
/// local time.
public struct DigestSchedule: Sendable, Equatable {
    public enum Period: String, Sendable, Equatable {
        case day
        case week
    }

    public var period: Period
    /// Minutes after local midnight.
    public var atMinute: Int
    /// For weekly digests: 0 = Monday ... 6 = Sunday.
    public var weekday: Int
    /// Alerts of this severity and below go to the digest; more severe ones are sent on their own.
    public var maxSeverity: Severity
    let time: LocalTime

    /// nil if `timeZone` is not a known IANA zone.
    public init?(period: Period, atMinute: Int, weekday: Int = 0, timeZone: String, maxSeverity: Severity) {
        guard let time = LocalTime(identifier: timeZone) else { return nil }
        self.period = period
        self.atMinute = atMinute
        self.weekday = weekday
        self.maxSeverity = maxSeverity
        self.time = time
    }

    public var timeZone: String { time.identifier }

    /// The first digest time strictly after `instant`.
    public func nextDue(after instant: Timestamp) -> Timestamp {
        let t = instant.millisecondsSinceEpoch
        var (day, _) = time.dayAndMinute(t)
        for _ in 0..<9 {
            let candidate = time.instant(day: day, minute: atMinute)
            if candidate > t, period == .day || LocalTime.weekday(ofDay: day) == weekday {
                return Timestamp(millisecondsSinceEpoch: candidate)
            }
            day += 1
        }
        return Timestamp(millisecondsSinceEpoch: time.instant(day: day, minute: atMinute))
    }

    /// A title such as "Daily digest for 2026-11-21" (the local date the digest is due).
    func title(due: Timestamp) -> String {
        let (day, _) = time.dayAndMinute(due.millisecondsSinceEpoch)
        let (y, m, d) = Timestamp.civilDate(epochDay: day)
        func pad(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let date = "\(y)-\(pad(m))-\(pad(d))"
        return period == .day ? "Daily digest for \(date)" : "Weekly digest for the week to \(date)"
    }
}
