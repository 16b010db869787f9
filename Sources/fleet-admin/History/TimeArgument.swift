import ArgumentParser
import Contracts
import Foundation

/// Times and durations on the command line of the history commands.
enum TimeArgument {
    /// An RFC 3339 time, or a date `YYYY-MM-DD`: its start, or with `endOfDay` the next midnight
    /// (so `--to 2026-10-31` includes that whole day).
    static func parse(_ text: String, endOfDay: Bool = false) -> Timestamp? {
        if let t = Timestamp(rfc3339: text) { return t }
        let parts = text.split(separator: "-")
        guard text.count == 10, parts.count == 3, let y = Int64(parts[0]), let m = Int64(parts[1]),
            let d = Int64(parts[2]),
            (1...12).contains(m), (1...31).contains(d)
        else { return nil }
        let day = Timestamp.epochDay(year: y, month: m, day: d)
        return Timestamp.startOfDay(endOfDay ? day + 1 : day)
    }

    /// `30d`, `12h`, `2w`, `45m` in milliseconds (nil when not a duration or out of range).
    static func duration(_ text: String) -> Int64? {
        guard let unit = text.last, let n = Int64(text.dropLast()), n >= 0 else { return nil }
        let unitMs: Int64
        switch unit {
        case "m": unitMs = 60_000
        case "h": unitMs = 3_600_000
        case "d": unitMs = 86_400_000
        case "w": unitMs = 7 * 86_400_000
        default: return nil
        }
        let (ms, overflow) = n.multipliedReportingOverflow(by: unitMs)
        return overflow ? nil : ms
    }

    /// This machine's wall clock: the reference of the future-time bound when no `--now` is given.
    static func wallClock() -> Timestamp {
        WallClock.system.now()
    }

    /// The reference of the future-time bound of `replay` and `backtest`: `--now` (RFC 3339, or a
    /// date for the end of that day), or the wall clock at run time.
    static func reference(_ text: String?) throws(ValidationError) -> Timestamp {
        guard let text else { return wallClock() }
        guard let t = parse(text, endOfDay: true) else {
            throw ValidationError("--now: not a time (RFC 3339 or YYYY-MM-DD): \(text)")
        }
        return t
    }

    /// Seconds given on the command line, in milliseconds; refused (never trapped) when negative or
    /// out of range.
    static func milliseconds(seconds: Int64, option: String) throws(ValidationError) -> Int64 {
        let (ms, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        guard seconds >= 0, !overflow else { throw ValidationError("\(option): \(seconds) seconds is out of range") }
        return ms
    }
}
