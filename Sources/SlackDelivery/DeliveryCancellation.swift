import Synchronization

/// Withdraws messages that have not started yet: a dispatcher gives one to every message of a
/// partition it owns and cancels it when the partition is revoked, so posts still queued behind
/// a destination's rate limit come back as `retryLater(.withdrawn)` instead of being posted by
/// an owner that is leaving (the next owner posts them). A message already on the wire finishes.
///
/// ```swift
/// let owned = DeliveryCancellation()
/// deliverer.submit(group, cancellation: owned) { outcome in ... }
/// owned.cancel(); deliverer.withdrawCancelled()   // queued messages complete with .withdrawn
/// ```
public final class DeliveryCancellation: Sendable {
    private let cancelled = Atomic<Bool>(false)

    public init() {}

    /// Marks every message carrying this token as withdrawn if it has not started.
    public func cancel() { cancelled.store(true, ordering: .releasing) }

    /// Whether `cancel()` was called.
    public var isCancelled: Bool { cancelled.load(ordering: .acquiring) }
}
