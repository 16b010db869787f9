import Contracts

/// Time per destination, applied by the dispatcher: quiet hours (`not_before`), digests and the
/// group wait of each destination, from the policies `DestinationPolicy.resolved(...)` gives.
///
/// **Why time moves to the dispatcher.** The `alerts` topic is keyed by destination, so exactly one
/// dispatcher owns a destination's queue at a time. Holding deferred alerts and digest items there
/// (in that dispatcher's changelog, keyed by destination) gives what the evaluator cannot: one
/// digest per destination per due time however many evaluator partitions fed it (the evaluator
/// holds items per account, so each of its partitions sends its own digest), release on the wall
/// clock of the process that posts (the evaluator's time is event time and only moves with
/// records), and a policy that sits with the webhook it governs, as Alertmanager keeps grouping,
/// muting and its notification log in the notification pipeline. The rules decide WHAT is worth
/// saying and to WHOM; the destination decides WHEN. The `evaluator` executable runs on
/// `RulesConfig.leavingTimeToTheDispatcher()`, and the `dispatcher` applies this schedule; alerts
/// that already carry a future `not_before` are held until then, digest records are sent as they come.
/// It is the only quiet-hours and digest path: the backtest, `fleet-admin rules test` and the rules
/// bench run it too, over alerts in event time (`DestinationTimeline`), and every digest is built by
/// `DigestBuilder`.
///
/// Pure: `now` is the dispatcher's wall clock, passed in. State is per destination
/// (`DestinationScheduleState`, the changelog value under the destination's name).
public struct DestinationSchedule: Sendable {
    /// Policies by destination name; a destination without one delivers everything at once.
    public let policies: [String: DestinationPolicy]

    public init(policies: [String: DestinationPolicy]) {
        self.policies = policies
    }

    /// What to do with an incoming alert.
    public enum Decision: Sendable, Hashable {
        /// Deliver it now.
        case deliverNow
        /// Hold it until this time (quiet hours, or its own `not_before`), then deliver it.
        case holdUntil(Timestamp)
        /// Add it to the destination's digest due at this time.
        case digest(due: Timestamp)
    }

    /// What is due at a time for one destination.
    public struct Release: Sendable, Equatable {
        /// Held alerts whose time has come, in time order, with `notBefore` set.
        public var released: [AlertRecord]
        /// One digest per due time that has come (usually at most one).
        public var digests: [AlertRecord]

        public var isEmpty: Bool { released.isEmpty && digests.isEmpty }
    }

    /// The decision for `alert` arriving at `now`, without state: a digest record or an alert that
    /// carries a future `notBefore` waits for it; an alert at or below its destination's digest
    /// severity (never critical) goes to the next digest; a non-critical alert in quiet hours waits
    /// for their end; anything else goes now.
    public func decide(_ alert: AlertRecord, now: Timestamp) -> Decision {
        if let notBefore = alert.notBefore, notBefore > now { return .holdUntil(notBefore) }
        guard alert.type != .digest, alert.severity < .critical, let policy = policies[alert.destination] else {
            return .deliverNow
        }
        if let digest = policy.digest, alert.severity <= digest.maxSeverity {
            return .digest(due: digest.nextDue(after: now))
        }
        if let quiet = policy.quietHours, let end = quiet.end(containing: now) {
            return .holdUntil(end)
        }
        return .deliverNow
    }

    /// Decides and keeps what waits in `state`, the state of `alert.destination`. Admitting the
    /// same alert again (a redelivered record) keeps one copy.
    public func admit(_ alert: AlertRecord, now: Timestamp, state: inout DestinationScheduleState) -> Decision {
        var decision = decide(alert, now: now)
        if case .digest(let due) = decision, let last = state.lastDigestDue, due <= last,
            let next = policies[alert.destination]?.digest?.nextDue(after: last)
        {
            decision = .digest(due: next)
        }
        switch decision {
        case .deliverNow:
            break
        case .holdUntil(let time):
            guard !state.held.contains(where: { $0.deliveryKey == alert.deliveryKey }) else { break }
            var held = alert
            held.notBefore = time
            state.held.append(held)
        case .digest(let due):
            guard !state.digestEntries.contains(where: { $0.item.alertId == alert.alertId }) else { break }
            state.digestEntries.append(.init(due: due, priority: alert.priority, item: DigestBuilder.item(of: alert)))
        }
        return decision
    }

    /// Removes from `state` (the state of `destination`) and returns what is due at `now`: held
    /// alerts whose time has come, and one digest per due time that has come.
    ///
    /// A digest's id depends only on the destination and its due time, so it is the same on every
    /// retry, restart or replay, and the delivery log lets it out once.
    public func takeDue(now: Timestamp, destination: String, state: inout DestinationScheduleState) -> Release {
        var release = Release(released: [], digests: [])
        if state.held.contains(where: { $0.notBefore.map { $0 <= now } ?? true }) {
            release.released = state.held.filter { $0.notBefore.map { $0 <= now } ?? true }.sorted {
                ($0.notBefore?.millisecondsSinceEpoch ?? 0, $0.alertId) < (
                    $1.notBefore?.millisecondsSinceEpoch ?? 0, $1.alertId
                )
            }
            state.held.removeAll { $0.notBefore.map { $0 <= now } ?? true }
        }
        if state.digestEntries.contains(where: { $0.due <= now }) {
            let due = state.digestEntries.filter { $0.due <= now }
            state.digestEntries.removeAll { $0.due <= now }
            let times = Set(due.map(\.due)).sorted()
            state.lastDigestDue = max(state.lastDigestDue ?? times.last!, times.last!)
            for time in times {
                let items = due.filter { $0.due == time }.map { ($0.priority, $0.item) }
                let id = AlertId.make(["digest", destination, String(time.millisecondsSinceEpoch)])
                let title = policies[destination]?.digest?.title(due: time) ?? "Digest"
                if let digest = DigestBuilder.record(
                    id: id, destination: destination, due: time, title: title, items: items)
                {
                    release.digests.append(digest)
                }
            }
        }
        return release
    }

    /// What is due at `now` across the destinations a dispatcher partition owns (`states` by
    /// destination name), destinations in name order; states left empty stay in the dictionary
    /// (the caller tombstones the keys whose `isEmpty` is true).
    public func takeDue(now: Timestamp, states: inout [String: DestinationScheduleState]) -> Release {
        var all = Release(released: [], digests: [])
        for name in states.keys.sorted() {
            guard let next = states[name]?.nextDue, next <= now else { continue }
            let release = takeDue(now: now, destination: name, state: &states[name]!)
            all.released += release.released
            all.digests += release.digests
        }
        return all
    }

    /// The earliest time anything in `states` is due: when the dispatcher's wall-clock timer
    /// should call `takeDue` next.
    public static func nextDue(_ states: [String: DestinationScheduleState]) -> Timestamp? {
        states.values.compactMap(\.nextDue).min()
    }
}
