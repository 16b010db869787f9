import Contracts
import Foundation
import Kafka
import Logging
import Metrics
import SlackDelivery
import Synchronization
import WorkerRuntime

/// The dispatcher's `/feedback` path: a click on a signed "Useful" / "Not useful" link.
///
/// A `GET` whose query verifies (`FeedbackLinkSigner.verify`: well formed, signed by the secret,
/// not expired) and is used for the first time (`FeedbackReplayGuard`) is recorded as one
/// `FeedbackRecord` (alert id, rule, destination, verdict, time of the click) through `recorder`,
/// and answered with a short confirmation page once the record is acknowledged. A forged,
/// altered, expired or replayed link is refused with a 4xx page and recorded nowhere; a record
/// that could not be written is answered 503 and the link may be used again.
///
/// Never blocks the calling thread (the HTTP event loop): verification is a few microseconds under
/// a lock, the record is handed to `recorder`, which answers later from any thread. The replay
/// guard is per process: with several dispatcher replicas a link replayed on another replica is
/// recorded again (the precision report keeps only the latest verdict per alert).
public final class FeedbackEndpoint: Sendable {
    /// Writes a record and calls back once with whether it was acknowledged.
    public typealias Recorder = @Sendable (FeedbackRecord, @escaping @Sendable (Bool) -> Void) -> Void

    let signer: FeedbackLinkSigner
    let recorder: Recorder
    let now: @Sendable () -> Timestamp
    let logger: Logger
    private let replayGuard: Mutex<FeedbackReplayGuard>

    /// An endpoint verifying with `signer`, remembering up to `guardCapacity` used links, writing
    /// through `recorder`, with `now` as its clock.
    public init(signer: FeedbackLinkSigner, guardCapacity: Int = 100_000, logger: Logger,
                now: @escaping @Sendable () -> Timestamp = { Timestamp(millisecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1000)) },
                recorder: @escaping Recorder) {
        self.signer = signer
        self.recorder = recorder
        self.now = now
        self.logger = logger
        self.replayGuard = Mutex(FeedbackReplayGuard(capacity: guardCapacity))
    }

    /// The route to hand to the worker's HTTP server.
    public var route: HTTPRoute {
        HTTPRoute(path: FeedbackLink.path) { [self] method, query, reply in handle(method: method, query: query, reply: reply) }
    }

    /// Answers one request to the feedback path (see the type's description).
    public func handle(method: String, query: String, reply: @escaping @Sendable (HTTPReply) -> Void) {
        guard method == "GET" else {
            count("method_not_allowed")
            reply(FeedbackPage.reply(status: 405, title: "Not allowed", message: "Open the link from the alert's message."))
            return
        }
        let time = now()
        let outcome = replayGuard.withLock { used in signer.accept(query: query, now: time, guard: &used) }
        let link: FeedbackLink
        switch outcome {
        case let .failure(refusal):
            count(Self.outcomeName(refusal))
            // The reason only: never the query, which carries the signature.
            logger.notice("feedback link refused", metadata: ["reason": "\(Self.outcomeName(refusal))"])
            reply(FeedbackPage.refused(refusal))
            return
        case let .success(admitted):
            link = admitted
        }
        let record = link.record(at: time)
        let signature = signer.signature(of: link)
        recorder(record) { [self] written in
            if written {
                count("recorded")
                logger.info("feedback recorded", metadata: ["alert_id": "\(record.alertId)", "rule": "\(record.rule)",
                                                           "destination": "\(record.destination)", "verdict": "\(record.verdict.rawValue)"])
                reply(FeedbackPage.recorded(record))
            } else {
                replayGuard.withLock { $0.forget(signature: signature) }
                count("not_written")
                logger.error("feedback not written: the link may be used again", metadata: ["alert_id": "\(record.alertId)"])
                reply(FeedbackPage.reply(status: 503, title: "Not recorded", message: "Your answer could not be recorded just now. Please try the link again in a minute."))
            }
        }
    }

    /// A recorder producing each record to `topic` (key = alert id) without blocking the caller.
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
