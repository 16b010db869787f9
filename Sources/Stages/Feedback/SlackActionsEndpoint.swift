import Contracts
import Foundation
import Kafka
import Logging
import Metrics
import SlackDelivery
import Synchronization
import WorkerRuntime

/// The dispatcher's `/slack/actions` path: the Slack app's interactivity request URL, where Slack
/// sends a click on an alert's lifecycle buttons (`AlertActionsBlock`). Served on the feedback
/// listener (`FEEDBACK_PORT`) when `SLACK_SIGNING_SECRET` is set.
///
/// - Only a `POST` whose Slack signature verifies (`SlackRequestVerifier`: `v0` HMAC-SHA256 of
///   `v0:{timestamp}:{body}` under the signing secret, timestamp within 5 minutes, constant-time
///   compare) is read; anything else is answered 401 and counted in
///   `fleet_slack_signatures_refused_total{reason}` (a wrong method: 405).
/// - The body is read as a form whose `payload` is the interaction JSON (`SlackInteraction`:
///   sizes capped, ids checked); a signed body that is not one click on our buttons is answered
///   400 and recorded nowhere.
/// - The click becomes one `AlertActionRecord` on `alert-actions` (key = account id), answered 200
///   once the record is acknowledged, and 503 when it was not within `answerWithin` (2.5 s, inside
///   Slack's 3 s): Slack then shows the person an error and the click may be made again.
/// - The same click delivered again (a replay of a captured request within its 5 minutes) is
///   answered 200 and recorded once by this replica; across replicas the record's `action_id` is
///   the same, and the evaluator applies an id once.
///
/// Never blocks the HTTP event loop: verification is microseconds, the write answers later.
public final class SlackActionsEndpoint: Sendable {
    /// Writes a record and calls back once with whether it was acknowledged.
    public typealias Recorder = @Sendable (AlertActionRecord, @escaping @Sendable (Bool) -> Void) -> Void

    /// Calls `fire` once `delay` has passed, on any thread: the end of a click's wait for its record.
    public typealias Deadline = @Sendable (_ delay: Duration, _ fire: @escaping @Sendable () -> Void) -> Void

    /// A Dispatch timer (as `FeedbackLedger`'s catch-up wait): the production deadline.
    public static let dispatchDeadline: Deadline = { delay, fire in
        DispatchQueue.global().asyncAfter(deadline: .now() + delay.timeInterval, execute: fire)
    }

    /// The path Slack's interactivity request URL points at.
    public static let path = "/slack/actions"
    /// How long a click may wait for its record: inside Slack's 3 s.
    public static let defaultAnswerWithin: Duration = .milliseconds(2500)

    let verifier: SlackRequestVerifier
    let recorder: Recorder
    let clock: WallClock
    let answerWithin: Duration
    let deadline: Deadline
    let logger: Logger
    let factory: any MetricsFactory
    private let recent: Mutex<RecentClicks>

    /// An endpoint verifying with `verifier`, writing through `recorder`, reading time from `clock`,
    /// remembering up to `recentCapacity` clicks of the last minutes, counting in `factory` (the
    /// process's metrics system by default), ending a click's wait for its record after
    /// `answerWithin` through `deadline` (tests fire it themselves).
    public init(
        verifier: SlackRequestVerifier, logger: Logger,
        answerWithin: Duration = SlackActionsEndpoint.defaultAnswerWithin,
        recentCapacity: Int = 50_000, factory: any MetricsFactory = MetricsSystem.factory,
        clock: WallClock = .system, deadline: @escaping Deadline = SlackActionsEndpoint.dispatchDeadline,
        recorder: @escaping Recorder
    ) {
        self.verifier = verifier
        self.recorder = recorder
        self.clock = clock
        self.deadline = deadline
        self.answerWithin = answerWithin
        self.logger = logger
        self.factory = factory
        self.recent = Mutex(RecentClicks(capacity: recentCapacity))
    }

    /// The route to hand to the feedback listener.
    public var route: HTTPRoute {
        HTTPRoute(path: Self.path) { [self] request, reply in handle(request, reply: reply) }
    }

    /// Answers one request (see the type's description).
    public func handle(_ request: HTTPRequest, reply: @escaping @Sendable (HTTPReply) -> Void) {
        guard request.method == "POST" else {
            count("method_not_allowed")
            reply(.methodNotAllowed(["POST"]))
            return
        }
        let time = clock.now()
        if let refusal = verifier.refusal(
            timestamp: request.headers["x-slack-request-timestamp"], signature: request.headers["x-slack-signature"],
            body: request.body, now: time)
        {
            Counter(
                label: "fleet_slack_signatures_refused_total", dimensions: [("reason", refusal.rawValue)],
                factory: factory
            ).increment()
            // The reason only: never the headers or the body.
            logger.notice("slack action refused: not signed by Slack", metadata: ["reason": "\(refusal.rawValue)"])
            reply(Self.text(401, "not signed by Slack\n"))
            return
        }
        let interaction: SlackInteraction
        switch SlackInteraction.parse(formBody: request.body) {
        case .failure(let refusal):
            count(refusal.rawValue)
            logger.notice("slack action ignored", metadata: ["reason": "\(refusal.rawValue)"])
            reply(Self.text(400, "not an alert action\n"))
            return
        case .success(let parsed):
            interaction = parsed
        }
        let record = interaction.record(receivedAt: time)
        if let problem = record.problem {
            count("bad_value")
            logger.notice("slack action ignored", metadata: ["reason": "\(problem)"])
            reply(Self.text(400, "not an alert action\n"))
            return
        }
        guard recent.withLock({ $0.admit(record.actionId, now: time.millisecondsSinceEpoch) }) else {
            count("replayed")
            reply(Self.text(200, ""))
            return
        }
        let once = Once()
        let id = record.actionId
        deadline(answerWithin) { [self] in
            guard once.claim() else { return }
            recent.withLock { $0.forget(id) }
            count("timed_out")
            logger.error("slack action not written in time: the click may be made again", metadata: meta(record))
            reply(Self.text(503, "not recorded, try again\n"))
        }
        recorder(record) { [self] written in
            guard once.claim() else { return }
            if written {
                count("recorded")
                logger.info("slack action recorded", metadata: meta(record))
                reply(Self.text(200, ""))
            } else {
                recent.withLock { $0.forget(id) }
                count("not_written")
                logger.error("slack action not written: the click may be made again", metadata: meta(record))
                reply(Self.text(503, "not recorded, try again\n"))
            }
        }
    }

    /// A recorder producing each record to `topic`, key = account id (co-partitioned with
    /// `health-scores`), without blocking the caller.
    public static func kafkaRecorder(producer: KafkaProducer, topic: String) -> Recorder {
        { record, done in
            guard let value = try? RecordCoding.encode(record) else {
                done(false)
                return
            }
            producer.sendWithoutBlocking(OutgoingRecord(topic: topic, key: record.accountId, value: value)) { result in
                if case .success = result { done(true) } else { done(false) }
            }
        }
    }

    private func meta(_ record: AlertActionRecord) -> Logger.Metadata {
        [
            "alert_id": "\(record.alertId ?? "")", "account_id": "\(record.accountId)",
            "kind": "\(record.kind.rawValue)",
            "action_id": "\(record.actionId)",
        ]
    }

    private func count(_ outcome: String) {
        Counter(label: "fleet_slack_actions_total", dimensions: [("outcome", outcome)], factory: factory).increment()
    }

    private static func text(_ status: Int, _ body: String) -> HTTPReply {
        HTTPReply(status: status, contentType: "text/plain; charset=utf-8", body: body)
    }

    /// Claimed by the first of the answer and the time-out.
    private final class Once: Sendable {
        private let done = Mutex(false)
        func claim() -> Bool {
            done.withLock { d in
                if d { return false }
                d = true
                return true
            }
        }
    }
}

/// The clicks this replica recorded in the last minutes (a replay within the signature window is
/// answered without a second record), bounded: past `capacity` the oldest is forgotten (the
/// evaluator's memory of action ids still applies it once).
struct RecentClicks: Sendable {
    let capacity: Int
    /// How long a click is remembered (ms): twice Slack's window, as a timestamp may be up to 5
    /// minutes ahead of the clock.
    static let memoryMs: Int64 = 2 * SlackRequestVerifier.defaultWindowSeconds * 1000
    private var seen: [String: Int64] = [:]

    init(capacity: Int) { self.capacity = max(1, capacity) }

    /// Remembers `id`; false when it was remembered already.
    mutating func admit(_ id: String, now: Int64) -> Bool {
        if let until = seen[id], until > now { return false }
        if seen.count >= capacity { seen = seen.filter { $0.value > now } }
        if seen.count >= capacity, let oldest = seen.min(by: { $0.value < $1.value }) {
            seen.removeValue(forKey: oldest.key)
        }
        seen[id] = now.addingReportingOverflow(Self.memoryMs).overflow ? Int64.max : now + Self.memoryMs
        return true
    }

    mutating func forget(_ id: String) { seen.removeValue(forKey: id) }

    var count: Int { seen.count }
}
