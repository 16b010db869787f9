import DequeModule

/// One destination's share of `DestinationScheduler`: its token bucket, its hold after a 429, its
/// FIFO queue and whose turn it is.
struct DestinationLane<Item: Sendable>: Sendable {
    /// Whose turn it is: at most one transfer per destination is past the queue, so messages to
    /// one channel keep their order.
    enum Turn: Sendable {
        case idle
        /// The head waits for its gate's answer (not counted as in flight).
        case atGate(Item)
        /// A transfer is sending (counted as in flight).
        case sending
    }

    /// A queued transfer and whether it has a gate to ask before it starts.
    struct Queued: Sendable {
        let item: Item
        let gated: Bool
    }

    var bucket: TokenBucket
    /// Nothing starts before this monotonic time (0: not held).
    var heldUntil: UInt64 = 0
    var queue: Deque<Queued> = []
    var turn: Turn = .idle
    /// The armed wake-up (0: none); older heap entries for this lane are stale.
    var wakeUpAt: UInt64 = 0
    /// On the scheduler's list of lanes waiting for room among the transfers in flight.
    var waitingForRoom = false
    /// On the scheduler's list of lanes to look at on the next `takeReady`.
    var touched = false

    init(limit: RateLimit, now: UInt64) {
        bucket = TokenBucket(limit: limit, now: now)
    }

    var isIdle: Bool {
        if case .idle = turn { return true }
        return false
    }
}
