import Contracts

/// The dispatcher's `DestinationSchedule` run over a sequence of alerts in event time: what the
/// backtest, `fleet-admin rules test` and the rules bench use for quiet hours and digests, so that
/// they hold, release and gather exactly as the fleet's dispatcher does (one path, one digest
/// builder: `DestinationSchedule.takeDue`).
///
/// The dispatcher admits an alert when it arrives and releases what is due on its wall clock; here
/// an alert arrives at the `now` it is admitted with (its `raisedAt` for the backtest and rules
/// tests) and time moves by `advance(to:)`, which releases what is due by then, at its due time.
///
/// Pure: time only comes in as values. State is per destination, as in the dispatcher.
public struct DestinationTimeline: Sendable {
    /// The schedule applied: the policies of the destinations, as `DestinationPolicy.resolved(...)` gives them.
    public let schedule: DestinationSchedule
    private var stateByDestination: [String: DestinationScheduleState] = [:]

    /// A timeline applying `schedule`.
    public init(schedule: DestinationSchedule) {
        self.schedule = schedule
    }

    /// A timeline applying `policies` (by destination name).
    public init(policies: [String: DestinationPolicy]) {
        self.init(schedule: DestinationSchedule(policies: policies))
    }

    /// Admits `alert` arriving at `now`. Call `advance(to: now)` first, as the dispatcher's timer
    /// would have run by then. `.deliverNow`: the caller sends `alert` as it is; otherwise the
    /// alert waits here for `advance(to:)`.
    public mutating func admit(_ alert: AlertRecord, now: Timestamp) -> DestinationSchedule.Decision {
        schedule.admit(
            alert, now: now, state: &stateByDestination[alert.destination, default: DestinationScheduleState()])
    }

    /// Releases what is due by `now`, each at its due time, in time order: held alerts (with
    /// `notBefore` set) and digests (one per destination and due time). A due time passed by
    /// several waits is released on its own, so a digest due before an alert's hold ends is built
    /// without items admitted later, as the dispatcher's timer would.
    public mutating func advance(to now: Timestamp) -> [AlertRecord] {
        var out: [AlertRecord] = []
        while let next = DestinationSchedule.nextDue(stateByDestination), next <= now {
            let release = schedule.takeDue(now: next, states: &stateByDestination)
            out += release.released + release.digests
        }
        return out
    }

    /// The state of each destination (what the dispatcher writes to its changelog under the
    /// destination's name).
    public var states: [String: DestinationScheduleState] { stateByDestination }

    /// Restores a destination's state (from the dispatcher's changelog) before alerts are admitted.
    public mutating func restore(destination: String, state: DestinationScheduleState) {
        stateByDestination[destination] = state
    }

    /// The earliest time `advance(to:)` has something to release.
    public var nextDue: Timestamp? { DestinationSchedule.nextDue(stateByDestination) }

    /// How many alerts and digest items are waiting (held alerts plus digest entries).
    public var waiting: Int { stateByDestination.values.reduce(0) { $0 + $1.held.count + $1.digestEntries.count } }
}
