import Contracts

/// Times in Slack text as `<!date^UNIX^{date_short_pretty} {time}|2026-11-20 10:00 UTC>`: each
/// reader sees the time in their own zone, and clients that cannot show it see the UTC fallback.
/// Only for mrkdwn text (sections, context); plain text (headers, notifications) gets the fallback.
public enum SlackDate {
    /// The UTC text shown where Slack cannot localise: "2026-11-20 10:00 UTC".
    public static func utcText(_ t: Timestamp) -> String {
        let r = t.rfc3339
        // "2026-11-20T10:00:00Z" or "...T10:00:00.123Z": date, then hours and minutes.
        guard r.utf8.count >= 16 else { return r }
        return "\(r.prefix(10)) \(r.dropFirst(11).prefix(5)) UTC"
    }

    /// The date-and-time token for mrkdwn; the UTC text alone for a time before 1970 (Slack refuses
    /// negative timestamps).
    public static func mrkdwn(_ t: Timestamp) -> String {
        let seconds = t.millisecondsSinceEpoch / 1000
        guard seconds >= 0 else { return utcText(t) }
        return "<!date^\(seconds)^{date_short_pretty} {time}|\(utcText(t))>"
    }

    /// A calendar date ("2027-03-31", as a record's `renewal_date`) as a `{date_short_pretty}`
    /// token at noon UTC (so no reader's zone moves it to another day), or nil if `text` is not
    /// such a date.
    public static func mrkdwn(calendarDate text: String) -> String? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard text.utf8.count == 10, parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let y = Int64(parts[0]), let m = Int64(parts[1]), let d = Int64(parts[2]), (1970...9999).contains(y),
            (1...12).contains(m), (1...31).contains(d)
        else { return nil }
        let day = Timestamp.epochDay(year: y, month: m, day: d)
        // A day that does not exist (2027-02-30) comes back as another date: refuse it.
        let civil = Timestamp.civilDate(epochDay: day)
        guard civil.year == y, civil.month == m, civil.day == d else { return nil }
        let seconds = day * 86_400 + 12 * 3_600
        return "<!date^\(seconds)^{date_short_pretty}|\(text)>"
    }
}
