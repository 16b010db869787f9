/// The limits `DestinationScheduler` keeps over all destinations and per destination.
struct SchedulerPolicy: Sendable, Hashable {
    /// Transfers sending at once over all destinations (each destination has at most one).
    var maxInFlight: Int
    /// Transfers queued per destination before new ones are handed back as `backlogged`.
    var maxQueuedPerDestination: Int
    /// A destination held (after a 429) for longer than this hands its queue back as `backlogged`
    /// instead of holding it.
    var maxHoldNanos: UInt64

    init(maxInFlight: Int, maxQueuedPerDestination: Int, maxHoldNanos: UInt64) {
        self.maxInFlight = maxInFlight
        self.maxQueuedPerDestination = maxQueuedPerDestination
        self.maxHoldNanos = maxHoldNanos
    }

    /// The engine's settings as a policy (the hold limit clamped into nanoseconds).
    init(_ settings: EngineSettings) {
        self.init(
            maxInFlight: settings.maxInFlight, maxQueuedPerDestination: settings.maxQueuedPerDestination,
            maxHoldNanos: Nanoseconds.from(seconds: settings.maxHoldSeconds))
    }
}
