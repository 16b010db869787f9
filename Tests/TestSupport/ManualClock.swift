import Contracts
import Synchronization

/// A wall clock a test moves by hand: it reads what it was last set to, so that a test drives
/// time (a due time passing, an epoch, a log timestamp) instead of sleeping through it.
public final class ManualClock: Sendable {
    private let current: Mutex<Int64>

    /// A clock reading `milliseconds` since the Unix epoch.
    public init(milliseconds: Int64) { current = Mutex(milliseconds) }

    /// A clock reading `timestamp`.
    public convenience init(_ timestamp: Timestamp) { self.init(milliseconds: timestamp.millisecondsSinceEpoch) }

    /// The clock to inject: every read answers this clock's current time.
    public var clock: WallClock { WallClock { [self] in self.milliseconds } }

    /// What the clock reads now.
    public var milliseconds: Int64 { current.withLock { $0 } }

    /// Moves the clock forward (or back, with a negative amount) by `amount`.
    public func advance(by amount: Duration) {
        let (seconds, attoseconds) = amount.components
        current.withLock { $0 += seconds * 1000 + attoseconds / 1_000_000_000_000_000 }
    }

    /// Sets the clock to `milliseconds` since the epoch (a step, as a wall clock may take).
    public func set(milliseconds: Int64) { current.withLock { $0 = milliseconds } }
}
