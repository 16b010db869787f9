import Contracts
import Foundation

/// Wall-clock arithmetic in an IANA time zone, daylight-saving aware.
///
/// Pure computation over the time-zone database (`TimeZone.secondsFromGMT(for:)`); no clock is read.
struct LocalTime: Sendable, Equatable {
    let zone: TimeZone

    init?(identifier: String) {
        guard let zone = TimeZone(identifier: identifier) else { return nil }
        self.zone = zone
    }

    var identifier: String { zone.identifier }

    /// UTC offset at `instant`, in milliseconds.
    func offsetMs(at instant: Int64) -> Int64 {
        let date = Date(timeIntervalSince1970: Double(instant) / 1000)
        return Int64(zone.secondsFromGMT(for: date)) * 1000
    }

    /// The local wall time of `instant`, as milliseconds since 1970-01-01T00:00 local.
    func wall(_ instant: Int64) -> Int64 { instant + offsetMs(at: instant) }

    /// The instant at which the local wall clock shows `wall`. A wall time skipped by a spring-forward
    /// change resolves to the instant just after the gap; a repeated one (fall back) to its first occurrence.
    func instant(ofWall wall: Int64) -> Int64 {
        // The offset in force a day before and after brackets the two candidates.
        let before = offsetMs(at: wall - 86_400_000)
        let after = offsetMs(at: wall + 86_400_000)
        let first = wall - before  // the earlier candidate when before > after (fall back)
        if offsetMs(at: first) == before { return first }
        let second = wall - after
        if offsetMs(at: second) == after { return second }
        // In a spring-forward gap: neither candidate maps back; take the instant the gap ends.
        return wall - before
    }

    /// Local day index (days since 1970-01-01 local) and minute of day of `instant`.
    func dayAndMinute(_ instant: Int64) -> (day: Int64, minute: Int) {
        let w = wall(instant)
        let (q, r) = w.quotientAndRemainder(dividingBy: 86_400_000)
        let day = r < 0 ? q - 1 : q
        let msOfDay = w - day * 86_400_000
        return (day, Int(msOfDay / 60_000))
    }

    /// The instant at which local day `day` shows `minute` (0...1440; 1440 is the next midnight).
    func instant(day: Int64, minute: Int) -> Int64 {
        instant(ofWall: day * 86_400_000 + Int64(minute) * 60_000)
    }

    /// 0 = Monday ... 6 = Sunday, for a local day index.
    static func weekday(ofDay day: Int64) -> Int {
        let d = (day + 3) % 7
        return Int(d < 0 ? d + 7 : d)
    }
}

/// Days of the week, parsed from `mon` ... `sun`.
enum Weekday {
    static let names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
}
