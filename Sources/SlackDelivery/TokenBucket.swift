/// A token bucket on a monotonic clock given in nanoseconds (pure: time comes in as a value).
/// Starts full; holds at most `burst` tokens; refills at `perSecond` tokens per second.
public struct TokenBucket: Sendable, Hashable {
    public let limit: RateLimit
    private var tokens: Double
    private var last: UInt64

    public init(limit: RateLimit, now: UInt64) {
        self.limit = limit
        self.tokens = Double(max(limit.burst, 1))
        self.last = now
    }

    private mutating func refill(_ now: UInt64) {
        guard now > last else { return }
        tokens = min(Double(max(limit.burst, 1)), tokens + Double(now - last) * limit.perSecond / 1e9)
        last = now
    }

    /// Takes one token if there is one.
    public mutating func tryTake(now: UInt64) -> Bool {
        refill(now)
        guard tokens >= 1 - 1e-9 else { return false }
        tokens -= 1
        return true
    }

    /// When the next whole token will be there (`now` if one is there already).
    public mutating func nextTokenAt(now: UInt64) -> UInt64 {
        refill(now)
        if tokens >= 1 - 1e-9 { return now }
        // Clamped: a vanishing configured rate waits very long instead of trapping.
        let wait = (1 - tokens) / limit.perSecond * 1e9
        return Nanoseconds.adding(now, Nanoseconds.clamped(wait.rounded(.up)))
    }

    /// Empties the bucket (after a 429: nothing goes out in a burst right after the pause).
    public mutating func drain(now: UInt64) {
        refill(now)
        tokens = 0
        last = max(last, now)
    }

    /// Moves the refill start to `at` with one token: after a pause, one message may go at once,
    /// the next ones at the steady rate.
    public mutating func restart(at: UInt64) {
        tokens = 1
        last = at
    }
}
