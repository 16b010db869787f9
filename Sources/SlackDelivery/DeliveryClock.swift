import Contracts

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The engine's monotonic clock for rate limits and timers (wall time, for the `notBefore` of
/// outcomes, comes from `EngineSettings.wallClock`).
enum DeliveryClock {
    static func monotonicNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// The wall time at which the monotonic clock will read `target`.
    static func wall(atMonotonic target: UInt64, monotonicNow: UInt64, wallNow: Timestamp) -> Timestamp {
        guard target > monotonicNow else { return wallNow }
        let delta = target - monotonicNow  // rounded up to whole milliseconds, without overflow
        let deltaMs = delta / 1_000_000 + (delta % 1_000_000 == 0 ? 0 : 1)
        return wallNow.adding(milliseconds: Int64(clamping: deltaMs))
    }
}
