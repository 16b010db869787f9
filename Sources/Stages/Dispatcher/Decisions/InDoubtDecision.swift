import SlackDelivery

/// What the dispatcher does with a message some of whose alerts are in doubt (an intent to post
/// without a delivery). Pure: the router acts on it (`DeliveryRouter.deliver`).
enum InDoubtDecision: Sendable, Hashable {
    /// Nothing in doubt: write the intents and post.
    case post
    /// An incoming or generic webhook cannot be asked: post again (at-least-once), counting and
    /// logging these alert ids.
    case postAgain(alertIds: [String])
    /// A Slack app: look for these alert ids in the channel's history between
    /// `oldestMilliseconds` and `latestMilliseconds` (the earliest intent minus the margin, the
    /// latest intent plus the longest intent wait, the post timeout and the margin: a post that started then cannot have
    /// reached Slack later; so a busy channel since the crash costs no extra pages).
    case lookUp(alertIds: Set<String>, oldestMilliseconds: Int64, latestMilliseconds: Int64)

    /// How far before an intent's time the channel's history is searched (clocks of two hosts and
    /// Slack's own timestamps differ a little).
    static let reconcileMarginMs: Int64 = 60_000

    /// The longest a post starts after its intents' time: intents acknowledged later than this are
    /// written again before the post starts (`DeliveryRouter.writeIntents`).
    static let maxIntentWaitMs: Int64 = 30_000

    /// The decision for the alerts in doubt of one message (`since`: when each one's earlier post
    /// was about to start, wall ms) on a destination of `kind` whose posts time out after
    /// `postTimeoutMs`.
    static func decide(inDoubt: [(alertId: String, since: Int64)], kind: Destination.Kind?, postTimeoutMs: Int64)
        -> InDoubtDecision
    {
        guard let earliest = inDoubt.map(\.since).min(), let latest = inDoubt.map(\.since).max() else { return .post }
        guard kind == .slackApp else { return .postAgain(alertIds: inDoubt.map(\.alertId)) }
        return .lookUp(
            alertIds: Set(inDoubt.map(\.alertId)), oldestMilliseconds: earliest - reconcileMarginMs,
            latestMilliseconds: latest + maxIntentWaitMs + postTimeoutMs + reconcileMarginMs)
    }

    /// After a look-up found `found` in the channel: the alerts of the message (`alertIds`) to log
    /// as delivered without a post, and those still to post (the rest of the message).
    static func split(_ alertIds: [String], found: Set<String>) -> (logged: [String], toPost: [String]) {
        (alertIds.filter { found.contains($0) }, alertIds.filter { !found.contains($0) })
    }
}
