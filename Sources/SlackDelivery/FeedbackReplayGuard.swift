import Contracts

/// Remembers the feedback links already used, so that a replayed link is refused. Bounded: it keeps
/// at most `capacity` links; a link is forgotten once it has expired (it is refused as expired from
/// then on anyway) or, when the guard is full of live links, the one that expires soonest is
/// forgotten first. Size `capacity` to the clicks expected within a link's lifetime.
///
/// Links are known by their id (`FeedbackLink.id`, the same under any signing secret). A guard
/// learns a link either by admitting it (a click on this process) or by `remember` (a record of
/// `alert-feedback` read back, written by any replica, before or after a restart): see
/// `FeedbackLedger` in the dispatcher.
///
/// A value type with no clock: `now` comes in with each call. Not shared across threads by itself;
/// the dispatcher keeps one per process behind its lock.
public struct FeedbackReplayGuard: Sendable {
    /// Most links remembered at once.
    public let capacity: Int
    /// Link id -> expiry (ms).
    private var seen: [String: Int64] = [:]

    /// A guard remembering at most `capacity` links (at least 1).
    public init(capacity: Int = 100_000) {
        self.capacity = max(1, capacity)
    }

    /// Links remembered now.
    public var count: Int { seen.count }

    /// Admits a verified link the first time it is used (and remembers it); false for a replay.
    /// `id` identifies the link (`FeedbackLink.id`).
    public mutating func admit(_ link: FeedbackLink, id: String, now: Timestamp) -> Bool {
        if seen[id] != nil { return false }
        insert(id, expiresAt: link.expiresAt.millisecondsSinceEpoch, now: now)
        return true
    }

    /// Whether the link `id` is known as used.
    public func contains(id: String) -> Bool { seen[id] != nil }

    /// Remembers a link used elsewhere (read back from `alert-feedback`), unless it has expired
    /// by `now` (it is refused as expired anyway). Idempotent.
    public mutating func remember(id: String, expiresAt: Timestamp, now: Timestamp) {
        guard now < expiresAt, seen[id] == nil else { return }
        insert(id, expiresAt: expiresAt.millisecondsSinceEpoch, now: now)
    }

    /// Forgets a link admitted earlier, so that it may be used again: for a click whose record
    /// could not be written (the person is told to try again).
    public mutating func forget(id: String) {
        seen.removeValue(forKey: id)
    }

    private mutating func insert(_ id: String, expiresAt: Int64, now: Timestamp) {
        if seen.count >= capacity {
            let t = now.millisecondsSinceEpoch
            seen = seen.filter { $0.value > t }
            if seen.count >= capacity, let soonest = seen.min(by: { ($0.value, $0.key) < ($1.value, $1.key) }) {
                seen.removeValue(forKey: soonest.key)
            }
        }
        seen[id] = expiresAt
    }
}

extension FeedbackLinkSigner {
    /// Verifies a link's query at `now` and admits it through `guard` (first use only): the whole
    /// check a feedback endpoint makes before it records anything.
    public func accept(query: String, now: Timestamp, guard replayGuard: inout FeedbackReplayGuard) -> Result<
        FeedbackLink, FeedbackLinkRefusal
    > {
        switch verify(query: query, now: now) {
        case .failure(let refusal):
            return .failure(refusal)
        case .success(let link):
            return replayGuard.admit(link, id: link.id, now: now) ? .success(link) : .failure(.replayed)
        }
    }
}
