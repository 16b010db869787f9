import Contracts

/// Settings of the HTTP engine.
public struct EngineSettings: Sendable {
    /// TCP + TLS connect timeout.
    public var connectTimeoutMilliseconds: Int = 3_000
    /// Whole-request timeout.
    public var totalTimeoutMilliseconds: Int = 10_000
    /// Transfers in flight at once over all destinations (each destination has at most one).
    public var maxInFlight: Int = 1_024
    /// Messages queued per destination before new ones are handed back as `backlogged`.
    public var maxQueuedPerDestination: Int = 100
    /// A destination paused (429) for longer than this hands its queue back as `backlogged`
    /// instead of holding it in memory.
    public var maxHoldSeconds: Double = 30
    /// Size of the multi handle's connection cache (CURLMOPT_MAXCONNECTS). Keep it at least
    /// `maxInFlight` so busy periods do not close and reopen connections.
    public var connectionCacheSize: Int = 1_024
    /// Connections per host at most (CURLMOPT_MAX_HOST_CONNECTIONS); 0 = no limit.
    public var maxConnectionsPerHost: Int = 0
    public var userAgent: String = "account-health-fleet-dispatcher/1"
    public var classifier = ResponseClassifier()
    /// Called on the engine thread as each transfer starts, with the destination's index (in the
    /// order given to the deliverer) and the monotonic time in nanoseconds: lets a benchmark audit
    /// the sender's own spacing. Keep it cheap.
    public var onTransferStart: (@Sendable (_ destinationIndex: Int, _ monotonicNanos: UInt64) -> Void)?
    /// Where wall time is read (the `notBefore` of outcomes, whether an alert is due); rate limits
    /// and timers use the monotonic clock.
    public var wallClock: WallClock = .system

    public init() {}
}
