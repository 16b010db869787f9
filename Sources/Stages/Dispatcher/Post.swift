import Contracts
import SlackDelivery
import WorkerRuntime

/// One alert waiting in a group or in a post: its record stays open until it is delivered,
/// routed to a retry topic, or dead-lettered.
struct WaitingAlert: Sendable {
    var alert: AlertRecord
    var pending: PendingRecord
    /// Failed attempts so far.
    var attempt: Int
    var history: String

    /// The number of the attempt being answered: one more than `attempt`, never below 1 and
    /// never trapping (the attempt is validated when read, see `RetryHeaderCheck`).
    var thisAttempt: Int { attempt < 1 ? 1 : (attempt == Int.max ? Int.max : attempt + 1) }
}

/// One message on its way: a group and the open records of its alerts.
struct Post: Sendable {
    var group: AlertGroup
    var members: [WaitingAlert]
    var partition: Int32
    /// Cancelled when the partition is revoked: a post not started by then is withdrawn.
    var cancellation: DeliveryCancellation
    /// Parked until then (rate limited), wall ms.
    var due: Int64 = 0
    /// When its intents were written (wall ms; 0 before): an answer that leaves the post open
    /// (timeout, 5xx) puts its alerts in doubt since then.
    var intentAt: Int64 = 0
    /// Posted as a reply in this message's thread (a follow-up on an episode in a Slack app channel).
    var thread: PostedMessage?
    /// An edit of this message (`chat.update`) instead of a new post: the post is an update record.
    var edit: PostedMessage?
    /// Where Slack put the message (a Slack app destination's answer), once delivered.
    var posted: PostedMessage?
}
