/// A destination's timer: at `at` (monotonic nanoseconds) it may have something to send (a token
/// refilled, a hold over). Ordered by time, then by when it was armed, so wake-ups due at the same
/// instant fire in the order they were set.
struct DestinationWakeUp: Comparable, Sendable {
    let at: UInt64
    /// Arming order, unique per scheduler.
    let sequence: UInt64
    let destination: Int

    static func < (a: Self, b: Self) -> Bool {
        (a.at, a.sequence) < (b.at, b.sequence)
    }
}
