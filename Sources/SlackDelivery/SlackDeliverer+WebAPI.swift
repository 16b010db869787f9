import Contracts
import Synchronization

/// Slack app destinations (`slack_app`): posting through `chat.postMessage` and finding out, for
/// alerts in doubt after a crash, whether a message carrying them is already in the channel
/// (`conversations.history` with `include_all_metadata`). Both are requests of the one libcurl
/// engine, on its thread, within the destination's rate limit; nothing blocks the caller.
extension SlackDeliverer {
    /// Messages per `conversations.history` page asked for.
    public static let historyPageLimit = 200
    /// Pages read at most by one look-up (bounded: 2,000 messages back from now).
    public static let historyMaxPages = 10

    /// The kind of the destination named `name`, nil if none is configured.
    public func kind(of name: String) -> Destination.Kind? {
        destination(named: name)?.kind
    }

    /// Posts a rendered `chat.postMessage` (or, with `method`, `chat.update`) body to destination
    /// `i`; `posted` hears the message Slack names in a successful answer, on the engine thread,
    /// before `completion`.
    func postWebAPI(
        to i: Int, body: [UInt8], method: String = "/chat.postMessage", cancellation: DeliveryCancellation?,
        gate: BeforePosting?, posted: (@Sendable (PostedMessage) -> Void)? = nil,
        completion: @escaping @Sendable (DeliveryOutcome) -> Void
    ) {
        var request = APIRequest(pathAndQuery: method, isGet: false, maxResponseBytes: 16 * 1024)
        if let posted {
            request.onResult = { result in
                guard case .response(200, let answer, _) = result, WebAPIAnswer(answer)?.ok == true,
                    let message = WebAPIAnswer.postedMessage(answer)
                else { return }
                posted(message)
            }
        }
        let transfer = Transfer(
            slot: i, api: request, body: body, cancellation: cancellation, gate: gate, completion: completion)
        submitTransfer(transfer)
    }

    /// Edits the message `message` of Slack app destination `alert.destination` (`chat.update`)
    /// to show `alert` as it stands now (`alert.update`: its state line, and quiet once closed),
    /// within the destination's rate limit, with the outcomes of a post. Not a Slack app
    /// destination: `permanent(.unknownDestination)`, nothing sent.
    public func update(
        _ alert: AlertRecord, message: PostedMessage, cancellation: DeliveryCancellation? = nil,
        beforePosting gate: BeforePosting? = nil, completion: @escaping @Sendable (DeliveryOutcome) -> Void
    ) {
        guard let i = index(of: alert.destination), let d = destination(named: alert.destination),
            d.kind == .slackApp
        else {
            completion(.permanent(.unknownDestination(name: alert.destination)))
            return
        }
        postWebAPI(
            to: i, body: renderer(for: d).renderUpdate(alert, message: message), method: "/chat.update",
            cancellation: cancellation, gate: gate, completion: completion)
    }

    /// Looks in the channel of Slack app destination `destination` for messages posted since
    /// `oldestMilliseconds` (and up to `latestMilliseconds` when given; wall ms) whose metadata
    /// names any of `alertIds`, page by page (at most
    /// `historyMaxPages`), newest first. `completion` runs on the engine thread once: `found` with
    /// the ids seen, `notFound`, or `failed` with the outcome of the failing page (429 holds the
    /// destination like a post does). Not a Slack app destination: `failed(.permanent)`.
    public func findPosted(
        alertIds: Set<String>, destination: String, oldestMilliseconds: Int64, latestMilliseconds: Int64? = nil,
        cancellation: DeliveryCancellation? = nil, completion: @escaping @Sendable (PostedMessageLookup) -> Void
    ) {
        guard let i = index(of: destination), let d = self.destination(named: destination), d.kind == .slackApp,
            let channel = d.channel
        else {
            completion(.failed(.permanent(.unknownDestination(name: destination))))
            return
        }
        let window = HistoryWindow(
            channel: channel, oldest: oldestMilliseconds, latest: latestMilliseconds, cancellation: cancellation)
        historyPage(slot: i, window: window, wanted: alertIds, cursor: nil, page: 1, completion: completion)
    }

    private func historyPage(
        slot i: Int, window: HistoryWindow, wanted: Set<String>, cursor: String?, page: Int,
        completion: @escaping @Sendable (PostedMessageLookup) -> Void
    ) {
        let box = ResultBox()
        let query = HistoryPage.query(
            channel: window.channel, oldestMilliseconds: window.oldest, latestMilliseconds: window.latest,
            limit: Self.historyPageLimit, cursor: cursor)
        let request = APIRequest(pathAndQuery: query, isGet: true, maxResponseBytes: 8 * 1024 * 1024) {
            box.result = $0
        }
        submitTransfer(
            Transfer(
                slot: i, api: request, body: [], cancellation: window.cancellation,
                completion: { [self] outcome in
                    guard case .delivered = outcome else {
                        completion(.failed(outcome))
                        return
                    }
                    guard case .response(_, let body, _)? = box.result, let parsed = HistoryPage.parse(body) else {
                        completion(
                            .failed(
                                .retryLater(
                                    .slackAPIError(error: "unreadable_history"),
                                    notBefore: engine.wallNow().adding(milliseconds: 1000))))
                        return
                    }
                    let seen = Set(parsed.messageAlertIds.joined())
                    let hits = wanted.intersection(seen)
                    if !hits.isEmpty {
                        // The whole message is there: every alert it carried was posted.
                        completion(
                            .found(hits.union(parsed.messageAlertIds.filter { !wanted.isDisjoint(with: $0) }.joined())))
                    } else if let next = parsed.nextCursor {
                        if page >= Self.historyMaxPages {
                            completion(.notFound(pages: page, complete: false))
                        } else {
                            historyPage(
                                slot: i, window: window, wanted: wanted, cursor: next, page: page + 1,
                                completion: completion)
                        }
                    } else {
                        completion(.notFound(pages: page, complete: true))
                    }
                }))
    }
}

/// Where a look-up searches: a channel between two wall times (ms).
private struct HistoryWindow: Sendable {
    var channel: String
    var oldest: Int64
    var latest: Int64?
    /// Withdraws the pages not started yet (the partition was revoked).
    var cancellation: DeliveryCancellation?
}

/// The raw answer of one Web API call, set on the engine thread just before its completion runs
/// on the same thread.
private final class ResultBox: Sendable {
    private let stored = Mutex<TransportResult?>(nil)

    var result: TransportResult? {
        get { stored.withLock { $0 } }
        set { stored.withLock { $0 = newValue } }
    }
}
