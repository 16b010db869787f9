/// How far ahead of "now" an event time may be: one definition for the whole fleet, used by the
/// workers (`ProcessingContext.observeEventTime`, with `MAX_CLOCK_SKEW_MS`) and by the offline
/// tools (`fleet-admin replay`, `backtest`, `report`). An event time beyond `now` plus the allowed
/// skew is bad input, refused with the code `future_event_time` and the same reason everywhere:
/// it never moves time, so one event dated years ahead cannot make every real event "too late".
///
/// Live, `now` is the worker's wall clock. Offline a history has no meaningful wall clock of its
/// own: the tools take the wall clock at run time, or `--now` for a history recorded ahead of it.
public struct FutureTimeBound: Sendable, Hashable {
    /// The rejection code of an event time beyond the bound (the dead-letter code live).
    public static let code = "future_event_time"
    /// The default allowed skew: 10 minutes (`MAX_CLOCK_SKEW_MS`).
    public static let defaultMaxClockSkewMilliseconds: Int64 = 600_000

    /// How far ahead of `now` an event time may be, in milliseconds (never negative).
    public let maxClockSkewMilliseconds: Int64

    /// A bound allowing `maxClockSkewMilliseconds` of skew (a negative skew counts as none).
    public init(maxClockSkewMilliseconds: Int64 = Self.defaultMaxClockSkewMilliseconds) {
        self.maxClockSkewMilliseconds = max(0, maxClockSkewMilliseconds)
    }

    /// The latest event time accepted at `now` (saturating: never traps).
    public func limit(now: Int64) -> Int64 {
        let (sum, overflow) = now.addingReportingOverflow(maxClockSkewMilliseconds)
        return overflow ? .max : sum
    }

    /// Whether an event time is within the bound at `now`.
    public func admits(_ milliseconds: Int64, now: Int64) -> Bool {
        milliseconds <= limit(now: now)
    }

    /// The reason given for a time of `field` beyond the bound (the same text live and offline).
    public func reason(field: String = "occurred_at") -> String {
        "\(field) in the future: more than \(maxClockSkewMilliseconds / 1000) s ahead of the wall clock"
    }

    /// Nil when `milliseconds` is within the bound at `now`; otherwise the reason it is refused.
    public func violation(_ milliseconds: Int64, now: Int64, field: String = "occurred_at") -> String? {
        admits(milliseconds, now: now) ? nil : reason(field: field)
    }
}
