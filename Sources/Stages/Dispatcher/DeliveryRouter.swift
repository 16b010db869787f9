import Contracts
import Foundation
import Kafka
import Logging
import SlackDelivery
import Synchronization
import WorkerRuntime

/// What happens once the destination answered, on the delivery engine's thread: write the
/// delivery log then finish (delivered), route to the next retry topic or the dead-letter topic,
/// or park the post while its destination is rate limited (no attempt consumed). Never blocks.
final class DeliveryRouter: Sendable {
    let topics: DispatcherTopics
    let settings: DispatcherSettings
    let log: DeliveryLog
    let metrics: DispatcherMetrics
    /// Logs alerts in doubt (never a URL or a token).
    let logger: Logger?
    /// Where wall time is read (holds, delivery and intent times).
    let clock: WallClock
    private let holds = Mutex<[String: Int64]>([:])
    private let parked = Mutex<[Post]>([])

    init(
        topics: DispatcherTopics, settings: DispatcherSettings, log: DeliveryLog, metrics: DispatcherMetrics,
        logger: Logger? = nil, clock: WallClock = .system
    ) {
        self.logger = logger
        self.clock = clock
        self.topics = topics
        self.settings = settings
        self.log = log
        self.metrics = metrics
    }

    /// Until when (wall ms) the destination is held by a rate limit, if it is.
    func heldUntil(_ destination: String, now: Int64) -> Int64? {
        holds.withLock { h in
            guard let until = h[destination] else { return nil }
            if until <= now {
                h[destination] = nil
                return nil
            }
            return until
        }
    }

    /// Parks a post of a destination held by a rate limit until `until` (wall ms).
    func park(_ post: Post, until: Int64) {
        var later = post
        later.due = until
        // Checked under the lock `takeParked` takes: a post parked after its partition's hand-back
        // would wait for a tick that never comes (none runs during a drain).
        let kept = parked.withLock { list -> Bool in
            guard !post.cancellation.isCancelled else { return false }
            list.append(later)
            return true
        }
        if !kept { giveUp(post) }
    }

    /// Alerts parked for `destination`.
    func parkedAlerts(_ destination: String) -> Int {
        parked.withLock { list in list.reduce(0) { $0 + ($1.group.destination == destination ? $1.members.count : 0) } }
    }

    /// Parked posts of `partition` whose time has come (or all of them with `all`).
    func takeParked(partition: Int32, now: Int64, all: Bool = false) -> [Post] {
        parked.withLock { list in
            let due = list.filter { $0.partition == partition && (all || $0.due <= now) }
            list.removeAll { $0.partition == partition && (all || $0.due <= now) }
            return due
        }
    }

    /// Carries out `OutcomeRouting`'s verdict for each alert of the answered post.
    func complete(_ post: Post, outcome: DeliveryOutcome, nanoseconds: UInt64) {
        let destination = post.group.destination
        let now = clock.milliseconds()
        metrics.outcome(destination, code: outcome.code)
        let policy = OutcomeRouting.Policy(retryTopics: topics.retries.count, retryDelaysMs: settings.retryDelaysMs)
        func verdict(attempt: Int) -> OutcomeRouting.Verdict {
            OutcomeRouting.decide(
                OutcomeRouting.Facts(
                    outcome: outcome, attempt: attempt, destination: destination,
                    cancelled: post.cancellation.isCancelled, now: now),
                policy: policy)
        }
        // Delivered, park and hand back are the same for every alert of the post; retry and dead
        // letter depend on each alert's attempt.
        switch verdict(attempt: post.members.first?.thisAttempt ?? 1) {
        case .handBack:
            giveUp(post)
        case .delivered(let status):
            metrics.postLatency(destination, nanoseconds: nanoseconds)
            metrics.delivered(destination, alerts: post.members.count)
            let ids = post.group.alertIds
            for m in post.members {
                let entry = DeliveryLogEntry(
                    alertId: m.alert.alertId, destination: destination, accountId: m.alert.accountId,
                    type: m.alert.deliveryLogType,
                    deliveredAt: Timestamp(millisecondsSinceEpoch: now), status: status,
                    retries: max(m.attempt, RetryHeaders.attempts(inHistory: m.history)), messageAlertIds: ids,
                    channel: post.posted?.channel, ts: post.posted?.ts)
                let value = (try? RecordCoding.encode(entry)) ?? Array(m.alert.alertId.utf8)
                m.pending.emit(
                    OutgoingRecord(
                        topic: topics.delivered, partition: post.partition, key: m.alert.deliveryKey, value: value))
                m.pending.finish()
            }
            var message = post.posted
            message?.grouped = post.group.alerts.count > 1
            log.delivered(post.members.map(\.alert.deliveryKey), partition: post.partition, at: now, message: message)
        case .park(let until):
            // Hold only this destination; no attempt is used up.
            if case .retryLater(.rateLimited, _) = outcome { metrics.rateLimitWait(destination) }
            holds.withLock { $0[destination] = max($0[destination] ?? 0, until) }
            park(post, until: until)
        case .retry, .deadLetter:
            metrics.postLatency(destination, nanoseconds: nanoseconds)
            if case .retryLater = outcome, post.intentAt > 0 {
                // The destination may have posted it: whoever sends it next checks first.
                log.markInDoubt(post.members.map(\.alert.deliveryKey), partition: post.partition, since: post.intentAt)
            }
            for m in post.members {
                let history = Self.appending(m.history, m.thisAttempt, outcome.code, now)
                switch verdict(attempt: m.thisAttempt) {
                case .retry(let topicIndex, let due):
                    retry(
                        m, partition: post.partition, topicIndex: topicIndex, due: due, code: outcome.code,
                        history: history)
                case .deadLetter(let code, let reason):
                    deadLetter(m, code: code, reason: reason, history: history)
                case .delivered, .park, .handBack:
                    break  // the same for every alert of the post: decided above
                }
            }
            log.end(post.members.map(\.alert.deliveryKey))
        }
    }

    /// Hands a post that was not sent back unfinished: its offsets are not committed, so the
    /// partition's next owner (or this process after a restart) reads its alerts again.
    func giveUp(_ post: Post) {
        giveUp(post.members)
    }

    /// Hands alerts that were not sent back unfinished (see `giveUp(_ post:)`).
    func giveUp(_ members: [WaitingAlert]) {
        for m in members { m.pending.giveUp() }
        log.end(members.map(\.alert.deliveryKey))
    }

    private func retry(
        _ m: WaitingAlert, partition: Int32, topicIndex: Int, due: Int64, code: String, history: String
    ) {
        metrics.retried(m.alert.destination, code: code)
        m.pending.emit(
            retryRecord(
                m, topic: topics.retries[topicIndex], partition: partition, attempt: topicIndex + 1,
                due: due, history: history))
        m.pending.finish()
    }

    private func retryRecord(
        _ m: WaitingAlert, topic: String, partition: Int32, attempt: Int, due: Int64, history: String
    ) -> OutgoingRecord {
        let value = m.pending.record.value ?? ((try? RecordCoding.encode(m.alert)) ?? [])
        return OutgoingRecord(
            topic: topic, partition: partition, key: m.alert.destination, value: value,
            headers: [
                KafkaHeader(name: RetryHeaders.attempt, text: String(attempt)),
                KafkaHeader(name: RetryHeaders.due, text: String(due)),
                KafkaHeader(name: RetryHeaders.history, text: history),
            ])
    }

    private func deadLetter(_ m: WaitingAlert, code: String, reason: String, history: String) {
        metrics.deadLettered(m.alert.destination, code: code)
        // The mark leaves memory, and its fact goes with the dead letter: a replay of it is looked
        // up in its Slack app channel before it is posted (an earlier post may have landed).
        let inDoubtSince = log.inDoubtSince(m.alert.deliveryKey, partition: m.pending.record.partition)
        log.clearInDoubt([m.alert.deliveryKey], partition: m.pending.record.partition)
        var letter = DeadLetter.record(
            for: m.pending.record, rejection: Rejection(code: code, reason: reason), stage: "dispatcher",
            topic: topics.deadLetter)
        letter.headers.removeAll {
            $0.name == RetryHeaders.history || $0.name == RetryHeaders.due || $0.name == RetryHeaders.inDoubtSince
        }
        letter.headers.append(KafkaHeader(name: RetryHeaders.history, text: history))
        if let inDoubtSince {
            letter.headers.append(KafkaHeader(name: RetryHeaders.inDoubtSince, text: String(inDoubtSince)))
        }
        m.pending.emit(letter)
        m.pending.finish()
    }

    static func appending(_ history: String, _ attempt: Int, _ code: String, _ now: Int64) -> String {
        let entry = "\(attempt) \(code) \(Timestamp(millisecondsSinceEpoch: now).rfc3339)"
        return history.isEmpty ? entry : history + "; " + entry
    }
}

extension RetryReason {
    /// The message did not reach the destination's handler (held locally, or refused with 429
    /// before it was processed): posting it again cannot repeat it.
    var wasNotSent: Bool {
        switch self {
        case .rateLimited, .backlogged, .notYetDue, .shuttingDown, .withdrawn: true
        case .serverError, .timeout, .connectionFailed, .tlsFailed, .slackAPIError, .smtpTransient: false
        }
    }
}
