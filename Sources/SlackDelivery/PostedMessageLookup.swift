import Contracts
import Foundation

/// What a look-up of a channel's history found for alerts in doubt.
public enum PostedMessageLookup: Sendable, Hashable {
    /// Messages carrying these alert ids (of those asked for) are in the channel.
    case found(Set<String>)
    /// No message since `oldest` carries any of them. `complete` is false when the look-up
    /// stopped at its page bound before reaching `oldest` (the answer is then a best effort).
    case notFound(pages: Int, complete: Bool)
    /// The look-up itself failed: retry later (429, 5xx, timeout) or a permanent problem.
    case failed(DeliveryOutcome)
}
