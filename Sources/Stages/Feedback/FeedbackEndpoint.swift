import Contracts
import Foundation
import Kafka
import Logging
import Metrics
import SlackDelivery
import Synchronization
import WorkerRuntime

/// The dispatcher's `/feedback` path: a click on a signed "Useful" / "Not useful" link, served on
/// the dispatcher's feedback listener (`FEEDBACK_PORT`, apart from its probes and metrics).
///
/// A `GET` (or `HEAD`) never records anything: link unfurlers, mail scanners and previewers fetch
/// every link of a message (issue 22). A `GET` whose query verifies (`FeedbackLinkSigner.verify`:
/// well formed, signed by the secret or the previous one, not expired) is answered with a
/// confirmation page whose one button `POST`s the same signed fields as a form; a link this
/// replica knows as used is answered 409 instead. A `POST` whose fields (the form body, else the
/// query) verify and whose link was never used, on this replica or any other, before or after a
/// restart, is recorded as one `FeedbackRecord` (alert id, rule, destination, verdict, time of the
/// click, link id and expiry) through `recorder`, and answered with a short page once the record
/// is acknowledged. A forged, altered, expired or replayed link is refused with a 4xx page and
/// recorded nowhere; a record that could not be written is answered 503 and the link may be used
/// again. Any other method: 405 with `allow: GET, HEAD, POST`.
///
/// "Never used anywhere": the replay guard is fed by `FeedbackLedger`, which reads every record of
/// `alert-feedback` back, whoever wrote it. Before a verified link is accepted, `catchUp` makes sure
/// the ledger has read the topic up to its end as of the click (bounded wait, 2 s by default); if
/// not, the click is answered 503 "try again" and recorded nowhere. Then the guard checks and
/// remembers the link under its lock, and the record is written. The one race left, the same link
/// clicked on two replicas within the few milliseconds between one's barrier and the other's write,
/// gives two records with the same `link_id` (same alert, same verdict): the precision report
/// counts one verdict per link, so the duplicate changes no figure.
///
/// Never blocks the calling thread (the HTTP event loop): verification is a few microseconds under
/// a lock; the wait for the ledger happens on the ledger's thread, and the record is handed to
/// `recorder`, which answers later from any thread.
public final class FeedbackEndpoint: Sendable {
    /// Writes a record and calls back once with whether it was acknowledged.
    public typealias Recorder = @Sendable (FeedbackRecord, @escaping @Sendable (Bool) -> Void) -> Void
    /// Calls back once, on any thread but the caller's event loop, with whether everything
    /// recorded before the call has been fed to the guard (`FeedbackLedger.whenCaughtUp`).
    public typealias CatchUp = @Sendable (@escaping @Sendable (Bool) -> Void) -> Void

    let signer: FeedbackLinkSigner
    let recorder: Recorder
    let catchUp: CatchUp?
    let clock: WallClock
    let logger: Logger
    private let replayGuard: Mutex<FeedbackReplayGuard>

    /// An endpoint verifying with `signer`, remembering up to `guardCapacity` live used links,
    /// waiting for `catchUp` (the ledger of every replica's records; nil: this process's memory
    /// only) before it accepts a link, writing through `recorder`, reading time from `clock`.
    public init(
        signer: FeedbackLinkSigner, guardCapacity: Int = 100_000, logger: Logger,
        clock: WallClock = .system,
        catchUp: CatchUp? = nil, recorder: @escaping Recorder
    ) {
        self.signer = signer
        self.recorder = recorder
        self.catchUp = catchUp
        self.clock = clock
        self.logger = logger
        self.replayGuard = Mutex(FeedbackReplayGuard(capacity: guardCapacity))
    }

    /// The route to hand to the feedback listener.
    public var route: HTTPRoute {
        HTTPRoute(path: FeedbackLink.path) { [self] request, reply in handle(request, reply: reply) }
    }

    /// The methods the path answers.
    public static let allowedMethods = ["GET", "HEAD", "POST"]

    /// Answers one request to the feedback path (see the type's description).
    public func handle(_ request: HTTPRequest, reply: @escaping @Sendable (HTTPReply) -> Void) {
        switch request.method {
        case "GET", "HEAD":
            confirm(query: request.query, reply: reply)
        case "POST":
            // The confirmation page's form sends the fields as its body; a POST to the link
            // itself (curl -X POST) carries them in the query.
            record(fields: request.body.isEmpty ? request.query : Self.formFields(request.body), reply: reply)
        default:
            count("method_not_allowed")
            var page = FeedbackPage.reply(
                status: 405, title: "Not allowed",
                message: "Open the link from the alert's message.")
            page.headers["allow"] = Self.allowedMethods.joined(separator: ", ")
            reply(page)
        }
    }

    /// Answers a request from its method and query string alone (no body).
    public func handle(method: String, query: String, reply: @escaping @Sendable (HTTPReply) -> Void) {
        handle(HTTPRequest(method: method, path: FeedbackLink.path, query: query), reply: reply)
    }

    /// A form body (`application/x-www-form-urlencoded`) as a query string the signer reads: a
    /// `+` stands for a space there (a literal `+` arrives as `%2B`).
    static func formFields(_ body: [UInt8]) -> String {
        String(decoding: body, as: UTF8.self).replacingOccurrences(of: "+", with: "%20")
    }

    /// GET and HEAD: the link verified, the confirmation page; nothing recorded, nothing waited for.
    private func confirm(query: String, reply: @escaping @Sendable (HTTPReply) -> Void) {
        switch signer.verify(query: query, now: clock.now()) {
        case .failure(let refusal):
            refuse(refusal, reply: reply)
        case .success(let link):
            if replayGuard.withLock({ $0.contains(id: link.id) }) {
                count("already_recorded_shown")
                reply(FeedbackPage.refused(.replayed))
                return
            }
            count("confirmation_shown")
            reply(
                FeedbackPage.confirmation(
                    link, action: signer.baseURL + FeedbackLink.path,
                    signature: signer.signature(of: link)))
        }
    }

    /// POST: the verdict recorded once per link (see the type's description).
    private func record(fields query: String, reply: @escaping @Sendable (HTTPReply) -> Void) {
        let time = clock.now()
        let link: FeedbackLink
        switch signer.verify(query: query, now: time) {
        case .failure(let refusal):
            refuse(refusal, reply: reply)
            return
        case .success(let verified):
            link = verified
        }
        let id = link.id
        // Known already: no need to wait for the ledger.
        if replayGuard.withLock({ $0.contains(id: id) }) {
            refuse(.replayed, reply: reply)
            return
        }
        guard let catchUp else {
            admitAndRecord(link, id: id, at: time, reply: reply)
            return
        }
        catchUp { [self] caughtUp in
            guard caughtUp else {
                count("not_caught_up")
                logger.warning(
                    "feedback not recorded: the record of earlier clicks could not be read in time; the link may be used again",
                    metadata: ["alert_id": "\(link.alertId)"])
                reply(
                    FeedbackPage.reply(
                        status: 503, title: "Try again",
                        message: "Your answer could not be checked just now. Please try the link again in a minute."))
                return
            }
            admitAndRecord(link, id: id, at: time, reply: reply)
        }
    }

    /// Remembers a link recorded by any replica (a record read back from `alert-feedback` by the
    /// ledger): a later click on it is refused as a replay. Records without a link id (written
    /// before links had one) and links already expired are ignored.
    public func remember(_ record: FeedbackRecord) {
        guard let id = record.linkId, let expiresAt = record.linkExpiresAt else { return }
        let time = clock.now()
        replayGuard.withLock { $0.remember(id: id, expiresAt: expiresAt, now: time) }
    }

    /// Links the guard holds now.
    public var rememberedLinks: Int { replayGuard.withLock { $0.count } }

    /// The check-and-remember under the lock, then the write.
    private func admitAndRecord(
        _ link: FeedbackLink, id: String, at time: Timestamp, reply: @escaping @Sendable (HTTPReply) -> Void
    ) {
        guard replayGuard.withLock({ $0.admit(link, id: id, now: time) }) else {
            refuse(.replayed, reply: reply)
            return
        }
        let record = link.record(at: time)
        recorder(record) { [self] written in
            if written {
                count("recorded")
                logger.info(
                    "feedback recorded",
                    metadata: [
                        "alert_id": "\(record.alertId)", "rule": "\(record.rule)",
                        "destination": "\(record.destination)", "verdict": "\(record.verdict.rawValue)",
                    ])
                reply(FeedbackPage.recorded(record))
            } else {
                replayGuard.withLock { $0.forget(id: id) }
                count("not_written")
                logger.error(
                    "feedback not written: the link may be used again", metadata: ["alert_id": "\(record.alertId)"])
                reply(
                    FeedbackPage.reply(
                        status: 503, title: "Not recorded",
                        message: "Your answer could not be recorded just now. Please try the link again in a minute."))
            }
        }
    }

    private func refuse(_ refusal: FeedbackLinkRefusal, reply: @escaping @Sendable (HTTPReply) -> Void) {
        count(Self.outcomeName(refusal))
        // The reason only: never the query, which carries the signature.
        logger.notice("feedback link refused", metadata: ["reason": "\(Self.outcomeName(refusal))"])
        reply(FeedbackPage.refused(refusal))
    }

    /// A recorder producing each record to `topic` (key = alert id, as the contract says: every
    /// verdict on one alert in one partition, in order) without blocking the caller. The record
    /// carries its link's id, which is what makes a duplicate (the two-replica race) recognisable.
    public static func kafkaRecorder(producer: KafkaProducer, topic: String) -> Recorder {
        { record, done in
            let value: [UInt8]
            do {
                value = try RecordCoding.encode(record)
            } catch {
                done(false)
                return
            }
            producer.sendWithoutBlocking(OutgoingRecord(topic: topic, key: record.alertId, value: value)) { result in
                if case .success = result { done(true) } else { done(false) }
            }
        }
    }

    static func outcomeName(_ refusal: FeedbackLinkRefusal) -> String {
        switch refusal {
        case .malformed: "malformed"
        case .badSignature: "bad_signature"
        case .expired: "expired"
        case .replayed: "replayed"
        }
    }

    private func count(_ outcome: String) {
        Counter(label: "fleet_feedback_requests_total", dimensions: [("outcome", outcome)]).increment()
    }
}
