import Contracts

/// Where a raised alert went for one destination: sent at once, held until the end of the
/// destination's quiet hours, or queued for the destination's next digest.
public enum AlertDisposition: Sendable, Hashable {
    /// On the `alerts` topic at once.
    case now
    /// Held by quiet hours; released with `notBefore` = `until`.
    case deferred(until: Timestamp)
    /// A line of the digest due at `due`.
    case digest(due: Timestamp)

    /// When the destination sees it: at once (`raisedAt`), at the end of quiet hours, or with the digest.
    public func deliveredAt(raisedAt: Timestamp) -> Timestamp {
        switch self {
        case .now: raisedAt
        case .deferred(let until): until
        case .digest(let due): due
        }
    }

    /// `now`, `deferred` or `digest`.
    public var name: String {
        switch self {
        case .now: "now"
        case .deferred: "deferred"
        case .digest: "digest"
        }
    }
}
