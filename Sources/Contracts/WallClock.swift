import Foundation

/// Where the fleet reads the wall time (ms since the Unix epoch): the one place the system clock is
/// read is `.system`. Stages, the worker, the feedback endpoint, the log handler and the Slack sink take
/// a clock, so that tests drive time instead of waiting for it (TestSupport's `ManualClock`).
///
/// Wall time is for what is recorded or compared with record times (timestamps, due times, epochs).
/// Durations and deadlines (how long a wait lasts, when a budget ends) are measured with a
/// monotonic clock (`ContinuousClock`, `DispatchTime`) instead: the wall clock may step.
public struct WallClock: Sendable {
    private let read: @Sendable () -> Int64

    /// A clock that answers `read()` each time it is asked.
    public init(_ read: @escaping @Sendable () -> Int64) { self.read = read }

    /// The system's real-time clock.
    public static let system = WallClock { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }

    /// A clock stopped at `milliseconds` since the epoch.
    public static func fixed(_ milliseconds: Int64) -> WallClock { WallClock { milliseconds } }

    /// A clock stopped at `timestamp`.
    public static func fixed(_ timestamp: Timestamp) -> WallClock { fixed(timestamp.millisecondsSinceEpoch) }

    /// Milliseconds since the Unix epoch, now.
    public func milliseconds() -> Int64 { read() }

    /// Now, as a `Timestamp`.
    public func now() -> Timestamp { Timestamp(millisecondsSinceEpoch: read()) }
}
