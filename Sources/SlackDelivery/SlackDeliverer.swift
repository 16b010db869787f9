import Contracts
import Logging

/// Delivers `alerts` records to named destinations: renders them (Block Kit for Slack, the record
/// as JSON for generic webhooks), then posts them through one shared libcurl engine that keeps
/// each destination inside its rate limit.
///
/// ```swift
/// let deliverer = try SlackDeliverer(destinations: file.destinations, logger: logger)
/// switch await deliverer.submit(alert) {            // to alert.destination
/// case .delivered: ...                               // write the delivery log
/// case let .retryLater(reason, notBefore): ...       // to a retry topic, due at notBefore
/// case let .permanent(reason): ...                   // to the DLT with reason.code
/// }
/// await deliverer.shutdown()
/// ```
///
/// Hundreds of deliveries progress at once on the engine's single thread (never the cooperative
/// pool); the async `submit` is resumed from that thread, the callback form is called on it.
/// Destinations are referred to by name everywhere; URLs never leave the engine.
public final class SlackDeliverer: Sendable {
    let engine: CurlEngine
    private let indexByName: [String: Int]
    private let destinations: [Destination]
    private let renderer: SlackMessageRenderer

    /// The configured destination names, in configuration order.
    public var destinationNames: [String] { destinations.map(\.name) }

    /// Starts the engine thread. Destination names must be unique.
    public init(
        destinations: [Destination], settings: EngineSettings = EngineSettings(),
        renderer: SlackMessageRenderer = SlackMessageRenderer(), logger: Logger = Logger(label: "slack-delivery")
    ) throws(SlackDeliveryError) {
        var index: [String: Int] = [:]
        for (i, d) in destinations.enumerated() {
            guard index[d.name] == nil else { throw .duplicateDestination(file: "<code>", name: d.name, line: nil) }
            index[d.name] = i
        }
        self.indexByName = index
        self.destinations = destinations
        self.renderer = renderer
        self.engine = try CurlEngine(destinations: destinations, settings: settings, logger: logger)
    }

    deinit { engine.requestStop() }

    /// Whether the caller runs on the engine thread (for tests: completions must).
    var isOnEngineThread: Bool { engine.isEngineThread }

    /// Delivers `alert` to `alert.destination`.
    public func submit(_ alert: AlertRecord) async -> DeliveryOutcome {
        await submit(alert, to: alert.destination)
    }

    /// Delivers `alert` to the destination named `destination`.
    public func submit(_ alert: AlertRecord, to destination: String) async -> DeliveryOutcome {
        await withCheckedContinuation { (c: CheckedContinuation<DeliveryOutcome, Never>) in
            submit(alert, to: destination) { c.resume(returning: $0) }
        }
    }

    /// Callback form for high-rate callers (no task per message). `completion` runs on the
    /// engine thread: keep it short and never block in it.
    ///
    /// `beforePosting` runs as the message is about to be posted (`BeforePosting`).
    ///
    /// On a Slack app destination, `thread` makes the message a reply in that message's thread
    /// (shown in the channel too when the alert is an escalation), and `posted` hears where Slack
    /// put the message (on the engine thread, before `completion`).
    public func submit(
        _ alert: AlertRecord, to destination: String, cancellation: DeliveryCancellation? = nil,
        beforePosting gate: BeforePosting? = nil, thread: PostedMessage? = nil,
        posted: (@Sendable (PostedMessage) -> Void)? = nil,
        completion: @escaping @Sendable (DeliveryOutcome) -> Void
    ) {
        guard let i = indexByName[destination] else {
            completion(.permanent(.unknownDestination(name: destination)))
            return
        }
        let now = engine.wallNow()
        if let nb = alert.notBefore, nb > now {
            completion(.retryLater(.notYetDue, notBefore: nb))
            return
        }
        if let destinationChannel = destinations[i].channel, destinations[i].kind == .slackApp {
            // A direct message goes to its user (Slack opens the app's DM with them), never in a thread.
            let direct = Self.userId(alert.directTo)
            let channel = direct ?? destinationChannel
            let reply = direct == nil ? thread.flatMap { $0.channel == channel ? $0 : nil } : nil
            postWebAPI(
                to: i,
                body: renderer(for: destinations[i], at: now).renderForWebAPI(
                    alert, channel: channel, threadTS: reply?.ts, broadcast: alert.escalation != nil),
                cancellation: cancellation, gate: gate, posted: posted,
                completion: completion)
            return
        }
        send(
            to: i, now: now, slack: { renderer(for: destinations[i], at: now).render(alert) },
            webhook: { try GenericWebhookPayload.body(for: alert, renderer: renderer) },
            email: { emailBody(AlertGroup(single: alert), to: destinations[i], now: now) }, cancellation: cancellation,
            gate: gate, completion: completion)
    }

    /// Renders for the destination's kind (signing generic webhook bodies) and hands the transfer
    /// to the engine.
    private func send(
        to i: Int, now: Timestamp, slack: () -> [UInt8], webhook: () throws -> [UInt8], email: () -> [UInt8],
        cancellation: DeliveryCancellation?,
        gate: BeforePosting?, completion: @escaping @Sendable (DeliveryOutcome) -> Void
    ) {
        let d = destinations[i]
        let body: [UInt8]
        var headers: [String] = []
        switch d.kind {
        case .slack, .slackApp:
            body = slack()
        case .email:
            guard d.email != nil else {
                completion(.permanent(.renderFailed(detail: "an email destination without its addresses")))
                return
            }
            body = email()
        case .webhook:
            do {
                body = try webhook()
            } catch {
                completion(.permanent(.renderFailed(detail: "alert record could not be encoded as JSON")))
                return
            }
            if let secret = d.signingSecret {
                headers = GenericWebhookPayload.signingHeaders(
                    body: body, unixSeconds: now.millisecondsSinceEpoch / 1000, secret: secret)
            }
        }
        engine.submit(
            Transfer(
                slot: i, body: body, extraHeaders: headers, cancellation: cancellation, gate: gate,
                completion: completion))
    }

    /// Delivers a group of alerts about one account as one message to `group.destination`. The
    /// outcome is the outcome of every alert in it: on `.delivered`, log each of `group.deliveryKeys`.
    public func submit(_ group: AlertGroup) async -> DeliveryOutcome {
        await withCheckedContinuation { (c: CheckedContinuation<DeliveryOutcome, Never>) in
            submit(group) { c.resume(returning: $0) }
        }
    }

    /// Callback form of `submit(_:)` for a group; `completion` runs on the engine thread. A
    /// message whose `cancellation` is cancelled before it starts completes with
    /// `retryLater(.withdrawn)` and is not sent.
    /// `beforePosting` runs as the message is about to be posted (`BeforePosting`).
    /// `thread` and `posted` as for one alert (a group of several alerts is never a reply).
    public func submit(
        _ group: AlertGroup, cancellation: DeliveryCancellation? = nil, beforePosting gate: BeforePosting? = nil,
        thread: PostedMessage? = nil, posted: (@Sendable (PostedMessage) -> Void)? = nil,
        completion: @escaping @Sendable (DeliveryOutcome) -> Void
    ) {
        guard group.alerts.count > 1 else {
            submit(
                group.lead, to: group.destination, cancellation: cancellation, beforePosting: gate, thread: thread,
                posted: posted, completion: completion)
            return
        }
        guard let i = indexByName[group.destination] else {
            completion(.permanent(.unknownDestination(name: group.destination)))
            return
        }
        let now = engine.wallNow()
        if let nb = group.alerts.compactMap(\.notBefore).max(), nb > now {
            completion(.retryLater(.notYetDue, notBefore: nb))
            return
        }
        if let channel = destinations[i].channel, destinations[i].kind == .slackApp {
            postWebAPI(
                to: i, body: renderer(for: destinations[i], at: now).renderForWebAPI(group, channel: channel),
                cancellation: cancellation, gate: gate, posted: posted,
                completion: completion)
            return
        }
        send(
            to: i, now: now, slack: { renderer(for: destinations[i], at: now).render(group) },
            webhook: { try GenericWebhookPayload.body(for: group, renderer: renderer) },
            email: { emailBody(group, to: destinations[i], now: now) }, cancellation: cancellation,
            gate: gate, completion: completion)
    }

    /// Completes at once, with `retryLater(.withdrawn)`, every queued message whose cancellation
    /// is cancelled (instead of when it reaches the head of its destination's queue).
    public func withdrawCancelled() {
        engine.sweepWithdrawn()
    }

    /// Posts an already rendered body as it is (no rendering, no signing) to `destination`, with
    /// the same rate limit and outcomes: for replaying a stored body or checking a raw payload.
    public func post(body: [UInt8], to destination: String) async -> DeliveryOutcome {
        guard let i = indexByName[destination] else { return .permanent(.unknownDestination(name: destination)) }
        return await withCheckedContinuation { (c: CheckedContinuation<DeliveryOutcome, Never>) in
            if destinations[i].kind == .slackApp {
                // A `chat.postMessage` body (with its channel) for a Slack app destination.
                postWebAPI(to: i, body: body, cancellation: nil, gate: nil, completion: { c.resume(returning: $0) })
            } else {
                engine.submit(Transfer(slot: i, body: body, extraHeaders: [], completion: { c.resume(returning: $0) }))
            }
        }
    }

    /// What a caller runs as a message is about to be posted (its destination's turn, within the
    /// rate limit), on the engine thread; the post starts once it calls `proceed(true)` from any
    /// thread (`false`: not posted, completed as `retryLater(.shuttingDown)`). The destination's
    /// later messages wait meanwhile; other destinations do not. The dispatcher writes its
    /// delivery intents here.
    public typealias BeforePosting = @Sendable (_ proceed: @escaping @Sendable (Bool) -> Void) -> Void

    /// The index of destination `name` in the engine, nil if none is configured.
    func index(of name: String) -> Int? { indexByName[name] }

    /// The destination named `name`.
    func destination(named name: String) -> Destination? { indexByName[name].map { destinations[$0] } }

    /// `text` if it is a Slack user id (`U` or `W`, then 1 to 31 of `A-Z0-9`), else nil.
    public static func userId(_ text: String?) -> String? {
        guard let text, let first = text.utf8.first, first == UInt8(ascii: "U") || first == UInt8(ascii: "W"),
            (2...32).contains(text.utf8.count),
            text.utf8.allSatisfy({ (48...57).contains($0) || (65...90).contains($0) })
        else { return nil }
        return text
    }

    /// The MIME message for `group` to email destination `d` (its templates, currency, addresses).
    func emailBody(_ group: AlertGroup, to d: Destination, now: Timestamp) -> [UInt8] {
        guard let settings = d.email else { return [] }
        return EmailRenderer(renderer: renderer(for: d, at: now)).message(group, settings: settings, now: now)
            .rendered()
    }

    /// The renderer with destination `d`'s message settings, for a message posted at `now`.
    func renderer(for d: Destination, at now: Timestamp? = nil) -> SlackMessageRenderer {
        var r = renderer.styled(for: d)
        r.deliveredAt = now ?? engine.wallNow()
        return r
    }

    /// Hands a transfer to the engine.
    func submitTransfer(_ t: Transfer) { engine.submit(t) }

    /// Stops: queued messages come back as `retryLater(.shuttingDown)`, transfers in flight finish,
    /// every curl handle is freed. Later submits complete at once with `shuttingDown`.
    public func shutdown() async {
        await engine.stop()
    }
}
