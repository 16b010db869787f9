/// What `DestinationScheduler` tells its transport to do with a transfer.
enum SchedulerAction<Item: Sendable>: Sendable {
    /// Start the transfer now: its destination's turn, a token taken, room among the transfers in
    /// flight. Report its answer with `DestinationScheduler.finished`.
    case send(Item)
    /// Ask the transfer's gate first; the destination waits meanwhile. Report the gate's answer
    /// with `DestinationScheduler.gateAnswered`.
    case openGate(Item)
    /// Complete the transfer without sending it.
    case handBack(Item, HandBackReason)
}

/// Why a transfer is handed back unsent.
enum HandBackReason: Sendable, Hashable {
    /// Its cancellation was cancelled before it started.
    case withdrawn
    /// The scheduler is stopping (or has stopped).
    case shuttingDown
    /// Its gate answered "do not post".
    case gateClosed
    /// Its destination's queue is full, or held for longer than the hold limit: try again at
    /// `notBefore` (monotonic nanoseconds).
    case backlogged(notBefore: UInt64)
}

extension SchedulerAction: Equatable where Item: Equatable {}
