import SlackDelivery

/// What the dispatcher does with an update record (an `alerts` record with `update`: an
/// acknowledgement, a take, a snooze, a resolution or a recovery of an episode already posted).
/// Pure: the facts come in as values and look-ups.
enum EditTarget: Equatable {
    /// Edit the message there (`chat.update`).
    case edit(PostedMessage)
    /// Send the record like an alert: a generic webhook receives every record, updates included.
    case asRecord
    /// The original is being posted right now: read the update again at `retryAt` (wall ms).
    case waitForOriginal(retryAt: Int64)
    /// Nothing to edit: counted under `reason`, the record done.
    case skip(reason: String)

    /// How long an update waits for its original's post to end before it is read again.
    static let originalWaitMs: Int64 = 1000

    /// - Parameters:
    ///   - kind: the destination's kind (nil: not configured, then the post path reports it).
    ///   - target: the alert id whose message is edited (`AlertRecord.thread`).
    ///   - message: where the target's message is, per the delivery log.
    ///   - targetInFlight: whether the target is being posted now.
    static func decide(
        kind: Destination.Kind?, target: String?, message: (String) -> PostedMessage?,
        targetInFlight: (String) -> Bool, now: Int64
    ) -> EditTarget {
        switch kind {
        case .webhook, nil:
            return .asRecord
        case .slack:
            return .skip(reason: "incoming_webhook")
        case .email:
            return .skip(reason: "email")
        case .slackApp:
            guard let target else { return .skip(reason: "no_message") }
            if let posted = message(target) { return .edit(posted) }
            if targetInFlight(target) { return .waitForOriginal(retryAt: now + originalWaitMs) }
            return .skip(reason: "no_message")
        }
    }
}
