import Contracts
import SlackDelivery

/// What one partition of the delivery log says at assignment: the keys delivered (with the wall
/// ms they were logged at) and the keys in doubt (an intent is their last value; with the wall ms
/// the post was about to start).
public struct DeliveryLogSnapshot: Sendable, Hashable {
    public var delivered: [String: Int64]
    public var inDoubt: [String: Int64]
    /// Where each delivered key's message is, for those posted to a Slack app channel.
    public var messages: [String: PostedMessage]

    public init(
        delivered: [String: Int64] = [:], inDoubt: [String: Int64] = [:], messages: [String: PostedMessage] = [:]
    ) {
        self.delivered = delivered
        self.inDoubt = inDoubt
        self.messages = messages
    }

    /// Applies one record of the log in offset order: the last value of a key wins; a tombstone
    /// forgets it. `timestamp` is the record's time (wall ms).
    public mutating func apply(key: String, value: [UInt8]?, timestamp: Int64) {
        guard let value else {
            delivered[key] = nil
            inDoubt[key] = nil
            messages[key] = nil
            return
        }
        switch DeliveryLogValue.decode(value) {
        case .posting(let intent):
            delivered[key] = nil
            inDoubt[key] = intent.postingAt.millisecondsSinceEpoch
        case .delivered(let entry):
            inDoubt[key] = nil
            delivered[key] = timestamp
            // Checked like any input: a malformed reference is no reference.
            var message = entry.channel.flatMap { c in entry.ts.flatMap { PostedMessage(channel: c, ts: $0) } }
            message?.grouped = entry.messageAlertIds.count > 1
            messages[key] = message
        case .unreadable:
            inDoubt[key] = nil
            delivered[key] = timestamp
            messages[key] = nil
        }
    }
}
