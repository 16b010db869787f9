import Contracts

/// What an evaluator before the one quiet-hours and digest path kept in an account's state: alerts
/// deferred by quiet hours and items waiting for a digest. Such values are still read from the
/// evaluator's changelog; the evaluator then hands them to the dispatcher when they are due (the
/// deferred alerts with their `notBefore`, the items as one digest per destination and due time),
/// and writes the state without them. Nothing adds to them any more.
extension AccountAlertState {
    /// Deferred alerts and digest items held by an earlier evaluator.
    public struct EarlierHolds: Sendable, Equatable {
        /// An item waiting for the digest of `destination` due at `due`.
        public struct DigestItemEntry: Sendable, Equatable {
            public var destination: String
            public var due: Timestamp
            public var priority: Priority
            public var item: DigestItem
        }

        /// Alerts held until their `notBefore`.
        public internal(set) var deferred: [AlertRecord] = []
        /// Items waiting for their destination's digest.
        public internal(set) var digestItems: [DigestItemEntry] = []

        public init() {}

        public var isEmpty: Bool { deferred.isEmpty && digestItems.isEmpty }

        /// The earliest time something is due (a deferred alert without a time is due at once).
        public var nextDue: Timestamp? {
            let times =
                deferred.map { $0.notBefore ?? Timestamp(millisecondsSinceEpoch: Int64.min) } + digestItems.map(\.due)
            return times.min()
        }
    }

    /// Removes and returns the earlier holds due at `now`: deferred alerts (their `notBefore` kept)
    /// and digest items, which `EarlierHolds.digests(of:)` gathers across accounts.
    public mutating func takeEarlierHolds(dueBy now: Timestamp) -> (
        alerts: [AlertRecord], digestItems: [EarlierHolds.DigestItemEntry]
    ) {
        guard let next = earlierHolds.nextDue, next <= now else { return ([], []) }
        let isDue = { (alert: AlertRecord) in alert.notBefore.map { $0 <= now } ?? true }
        let alerts = earlierHolds.deferred.filter(isDue)
        earlierHolds.deferred.removeAll(where: isDue)
        let items = earlierHolds.digestItems.filter { $0.due <= now }
        earlierHolds.digestItems.removeAll { $0.due <= now }
        return (alerts, items)
    }
}

extension AccountAlertState.EarlierHolds {
    /// One digest record per destination and due time of `items` (gathered from the accounts of a
    /// partition), built by `DigestBuilder`, with the id the earlier evaluator gave it (a hash of
    /// the destination, the due time and the item ids) so that the delivery log recognises a digest
    /// already sent before the upgrade. Titles come from the destinations' digest `policies`
    /// ("Digest" for a destination without one).
    public static func digests(of items: [DigestItemEntry], policies: [String: DestinationPolicy]) -> [AlertRecord] {
        struct Key: Hashable {
            var destination: String
            var due: Timestamp
        }
        let groups = Dictionary(grouping: items) { Key(destination: $0.destination, due: $0.due) }
        var out: [AlertRecord] = []
        for key in groups.keys.sorted(by: { ($0.due, $0.destination) < ($1.due, $1.destination) }) {
            guard let group = groups[key] else { continue }
            let id = AlertId.make(
                ["digest", key.destination, String(key.due.millisecondsSinceEpoch)] + group.map(\.item.alertId).sorted()
            )
            if let digest = DigestBuilder.record(
                id: id, destination: key.destination, due: key.due,
                title: policies[key.destination]?.digest?.title(due: key.due) ?? "Digest",
                items: group.map { ($0.priority, $0.item) })
            {
                out.append(digest)
            }
        }
        return out
    }
}
