/// One POST (or Web API call) handed to the engine: what to send, where, and who hears the
/// outcome. Immutable: a submitter builds it, the engine queues it (in its scheduler), then puts
/// it on the wire (as a `WireTransfer`). A class so that queueing it moves one reference.
final class Transfer: Sendable, Identifiable {
    let slot: Int
    let body: [UInt8]
    /// Extra header lines (signatures); empty for Slack, which uses the shared header list.
    let extraHeaders: [String]
    let completion: @Sendable (DeliveryOutcome) -> Void
    /// Withdraws the message while it has not started.
    let cancellation: DeliveryCancellation?

    /// A Web API request: its path (and query) after the destination's base URL, its method, the
    /// room kept for the answer, and who gets the raw answer (a `conversations.history` page).
    let api: APIRequest?

    /// Called on the engine thread when the transfer is about to start (its destination's turn,
    /// a token taken), with a function to call once it may really start (true) or must not
    /// (false: completed as `shuttingDown`, not sent). The destination waits meanwhile. The
    /// dispatcher writes its delivery intents here, so only posts that start are in doubt after a
    /// crash, not those still queued behind the rate limit.
    let gate: (@Sendable (_ proceed: @escaping @Sendable (Bool) -> Void) -> Void)?

    init(
        slot: Int, body: [UInt8], extraHeaders: [String], api: APIRequest? = nil,
        cancellation: DeliveryCancellation? = nil,
        gate: (@Sendable (_ proceed: @escaping @Sendable (Bool) -> Void) -> Void)? = nil,
        completion: @escaping @Sendable (DeliveryOutcome) -> Void
    ) {
        self.slot = slot
        self.body = body
        self.extraHeaders = extraHeaders
        self.api = api
        self.cancellation = cancellation
        self.gate = gate
        self.completion = completion
    }

    /// A Slack Web API call on the destination's base URL (`slack_app` destinations).
    convenience init(
        slot: Int, api: APIRequest, body: [UInt8], cancellation: DeliveryCancellation? = nil,
        gate: (@Sendable (_ proceed: @escaping @Sendable (Bool) -> Void) -> Void)? = nil,
        completion: @escaping @Sendable (DeliveryOutcome) -> Void
    ) {
        self.init(
            slot: slot, body: body, extraHeaders: [], api: api, cancellation: cancellation, gate: gate,
            completion: completion)
    }

    var isWithdrawn: Bool { cancellation?.isCancelled ?? false }

    /// Bytes of the answer kept.
    var responseRoom: Int { api?.maxResponseBytes ?? 1024 }
}

/// A Slack Web API call of a `slack_app` destination: `POST <base>/chat.postMessage` or
/// `GET <base>/conversations.history?...`.
struct APIRequest: Sendable {
    /// `/chat.postMessage`, `/conversations.history?channel=...`.
    var pathAndQuery: String
    var isGet: Bool
    /// The answer is kept up to this many bytes.
    var maxResponseBytes: Int
    /// Called on the engine thread with the raw answer, before `completion` gets its outcome.
    var onResult: (@Sendable (TransportResult) -> Void)?
}
