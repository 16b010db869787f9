import Contracts

/// Times and durations on the command line of the history commands.
enum TimeArgument {
    /// An RFC 3339 time, or a date `YYYY-MM-DD`: its start, or with `endOfDay` the next midnight
    /// (so `--to 2026-10-31` includes that whole day).
    static func parse(_ text: String, endOfDay: Bool = false) -> Timestamp? {
        if let t = Timestamp(rfc3339: text) { return t }
        let parts = text.split(separator: "-")
        guard text.count == 10, parts.count == 3, let y = Int64(parts[0]), let m = Int64(parts[1]), let d = Int64(parts[2]),
              (1...12).contains(m), (1...31).contains(d) else { return nil }
        let day = Timestamp.epochDay(year: y, month: m, day: d)
        return Timestamp.startOfDay(endOfDay ? day + 1 : day)
    }

    /// `30d`, `12h`, `2w`, `45m` in milliseconds.
    static func duration(_ text: String) -> Int64? {
        guard let unit = text.last, let n = Int64(text.dropLast()), n >= 0 else { return nil }
        switch unit {
        case "m": return n * 60_000
        case "h": return n * 3_600_000
        case "d": return n * 86_400_000
        case "w": return n * 7 * 86_400_000
        default: return nil
        }
    }
}
