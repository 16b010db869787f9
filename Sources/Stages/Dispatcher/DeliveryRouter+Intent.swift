import Contracts
import Foundation
import Kafka
import Logging
import SlackDelivery
import Synchronization
import WorkerRuntime

/// Write-ahead intents and alerts in doubt: how a message leaves the dispatcher.
///
/// 1. Alerts of the message in doubt (an intent without a delivery, read from the log at
///    assignment or left by a timeout or a 5xx here): on a Slack app destination, the channel's
///    history is searched for a message carrying their ids (`conversations.history` with
///    `include_all_metadata`, from the earliest intent minus `InDoubtDecision.reconcileMarginMs`). Found: the
///    delivery is logged (marked reconciled) and not posted. Not found: posted. An incoming
///    webhook cannot be asked: the alert is posted again (at-least-once), counted in
///    `fleet_deliveries_in_doubt_total{destination}` and logged at info with its id.
/// 2. One intent per alert (`DeliveryIntent`, key `alert_id|destination`) is written to the log;
///    the post starts once every one of them is acknowledged: one produce round trip per message,
///    and many messages do this at once (nothing waits for another message's intents).
/// 3. The post; its answer goes to `complete(_:outcome:nanoseconds:)` as before.
extension DeliveryRouter {
    /// Sends `post` through `deliverer`: reconciles what is in doubt (`InDoubtDecision`), writes
    /// the intents as the post starts, posts. Never blocks; runs on the worker thread or the
    /// engine thread.
    func deliver(_ post: Post, via deliverer: SlackDeliverer) {
        let p = post.partition
        let destination = post.group.destination
        let doubtful = post.members.compactMap { m in
            log.inDoubtSince(m.alert.deliveryKey, partition: p).map { (member: m, since: $0) }
        }
        let decision = InDoubtDecision.decide(
            inDoubt: doubtful.map { ($0.member.alert.alertId, $0.since) }, kind: deliverer.kind(of: destination),
            postTimeoutMs: Int64(settings.postTimeoutMs))
        switch decision {
        case .post:
            writeIntentsThenPost(post, via: deliverer)
        case .postAgain:
            for d in doubtful {
                metrics.inDoubt(destination)
                logger?.info(
                    "delivery in doubt: posting again (an incoming webhook cannot be asked; at-least-once)",
                    metadata: [
                        "alert_id": "\(d.member.alert.alertId)", "destination": "\(destination)",
                        "intent_at": "\(Timestamp(millisecondsSinceEpoch: d.since).rfc3339)",
                    ])
            }
            log.clearInDoubt(doubtful.map(\.member.alert.deliveryKey), partition: p)
            writeIntentsThenPost(post, via: deliverer)
        case .lookUp(let wanted, let oldest, let latest):
            deliverer.findPosted(
                alertIds: wanted, destination: destination, oldestMilliseconds: oldest, latestMilliseconds: latest,
                cancellation: post.cancellation
            ) { [self] result in
                reconciled(post, doubtful: doubtful.map(\.member), result: result, via: deliverer)
            }
        }
    }

    /// Acts on the look-up of a message's alerts in doubt in its Slack app channel.
    private func reconciled(
        _ post: Post, doubtful: [WaitingAlert], result: PostedMessageLookup, via deliverer: SlackDeliverer
    ) {
        let p = post.partition
        let destination = post.group.destination
        switch result {
        case .found(let ids):
            let (logged, toPost) = InDoubtDecision.split(post.members.map(\.alert.alertId), found: ids)
            let posted = post.members.filter { logged.contains($0.alert.alertId) }
            let rest = post.members.filter { toPost.contains($0.alert.alertId) }
            metrics.reconciled(destination, result: "found", alerts: posted.count)
            for _ in doubtful { metrics.inDoubt(destination) }
            for m in posted {
                logger?.info(
                    "delivery in doubt: found in the channel, logged without posting again",
                    metadata: [
                        "alert_id": "\(m.alert.alertId)", "destination": "\(destination)",
                    ])
            }
            logReconciled(posted, post: post)
            // The others of the message were not in the found message: they are posted now.
            guard !rest.isEmpty, let group = post.group.keeping(Set(rest.map(\.alert.deliveryKey))) else { return }
            log.clearInDoubt(rest.map(\.alert.deliveryKey), partition: p)
            var remaining = post
            remaining.members = rest
            remaining.group = group
            writeIntentsThenPost(remaining, via: deliverer)
        case .notFound(let pages, let complete):
            metrics.reconciled(destination, result: "not_found", alerts: doubtful.count)
            for _ in doubtful { metrics.inDoubt(destination) }
            for m in doubtful {
                logger?.info(
                    "delivery in doubt: not in the channel, posting",
                    metadata: [
                        "alert_id": "\(m.alert.alertId)", "destination": "\(destination)", "pages": "\(pages)",
                        "complete": "\(complete)",
                    ])
            }
            log.clearInDoubt(doubtful.map(\.alert.deliveryKey), partition: p)
            writeIntentsThenPost(post, via: deliverer)
        case .failed(.permanent(let reason)):
            // The channel cannot be read (say `not_in_channel` for a bot posting with
            // `chat:write.public`, or `missing_scope`): losing the alerts is worse than a repeat,
            // so post again, at-least-once, as for a webhook; counted and logged.
            metrics.reconciled(destination, result: "refused", alerts: doubtful.count)
            for d in doubtful {
                metrics.inDoubt(destination)
                logger?.warning(
                    "delivery in doubt: channel look-up refused, posting again (at-least-once)",
                    metadata: [
                        "alert_id": "\(d.alert.alertId)", "destination": "\(destination)", "reason": "\(reason.code)",
                    ])
            }
            log.clearInDoubt(doubtful.map(\.alert.deliveryKey), partition: p)
            writeIntentsThenPost(post, via: deliverer)
        case .failed(let outcome):
            // The look-up is retried like a post (429 holds the destination, 5xx to a retry
            // topic); the alerts stay in doubt.
            metrics.reconciled(destination, result: "failed", alerts: doubtful.count)
            logger?.info(
                "delivery in doubt: channel look-up failed",
                metadata: ["destination": "\(destination)", "reason": "\(outcome.code)"])
            complete(post, outcome: outcome, nanoseconds: 0)
        }
    }

    /// Logs each of `members` as delivered (found in the channel) and finishes its record once
    /// the entry is written.
    private func logReconciled(_ members: [WaitingAlert], post: Post) {
        let now = clock.milliseconds()
        let ids = post.group.alertIds
        for m in members {
            let entry = DeliveryLogEntry(
                alertId: m.alert.alertId, destination: post.group.destination, accountId: m.alert.accountId,
                type: m.alert.deliveryLogType,
                deliveredAt: Timestamp(millisecondsSinceEpoch: now), status: 200, retries: m.attempt,
                messageAlertIds: ids, reconciled: true)
            let value = (try? RecordCoding.encode(entry)) ?? Array(m.alert.alertId.utf8)
            m.pending.emit(
                OutgoingRecord(
                    topic: topics.delivered, partition: post.partition, key: m.alert.deliveryKey, value: value))
            m.pending.finish()
        }
        log.delivered(members.map(\.alert.deliveryKey), partition: post.partition, at: now)
    }

    /// Posts `post`, writing one intent per alert when the engine is about to start it (its
    /// destination's turn, within the rate limit) and starting it once every intent is
    /// acknowledged: one produce round trip per message; other destinations' messages go on
    /// meanwhile. A refused intent (the worker then stops without committing) means no post: the
    /// records stay open. Only messages that start can be in doubt after a crash.
    func writeIntentsThenPost(_ post: Post, via deliverer: SlackDeliverer) {
        let ids = post.group.alertIds
        let intentAt = IntentClock()
        let started = DispatchTime.now().uptimeNanoseconds
        let gate: SlackDeliverer.BeforePosting = { [self] proceed in
            writeIntents(post, ids: ids, intentAt: intentAt, then: proceed)
        }
        if let edit = post.edit {
            deliverer.update(post.group.lead, message: edit, cancellation: post.cancellation, beforePosting: gate) {
                [self] outcome in
                var answered = post
                answered.intentAt = intentAt.value
                complete(answered, outcome: outcome, nanoseconds: DispatchTime.now().uptimeNanoseconds &- started)
            }
            return
        }
        let placed = PostedBox()
        let answered: @Sendable (DeliveryOutcome) -> Void = { [self] outcome in
            var answered = post
            answered.intentAt = intentAt.value
            answered.posted = placed.value
            complete(answered, outcome: outcome, nanoseconds: DispatchTime.now().uptimeNanoseconds &- started)
        }
        deliverer.submit(
            post.group, cancellation: post.cancellation, beforePosting: gate, thread: post.thread,
            posted: { placed.set($0) }, completion: answered)
    }
}

extension DeliveryRouter {
    /// Writes one intent per alert of `post`, then lets the post start. If their acknowledgement
    /// took longer than `InDoubtDecision.maxIntentWaitMs` (a leader election, a slow broker), they
    /// are written again first: a post starts at most that long after its intents' time, which
    /// the channel look-up's window relies on.
    fileprivate func writeIntents(
        _ post: Post, ids: [String], intentAt: IntentClock, then proceed: @escaping @Sendable (Bool) -> Void
    ) {
        let now = clock.milliseconds()
        intentAt.set(now)
        let written = ContinuousClock.now
        let countdown = IntentCountdown(post.members.count)
        for m in post.members {
            let intent = DeliveryIntent(
                alertId: m.alert.alertId, destination: post.group.destination, accountId: m.alert.accountId,
                type: m.alert.deliveryLogType,
                postingAt: Timestamp(millisecondsSinceEpoch: now), messageAlertIds: ids)
            let value = (try? RecordCoding.encode(intent)) ?? []
            m.pending.emit(
                OutgoingRecord(
                    topic: topics.delivered, partition: post.partition, key: m.alert.deliveryKey, value: value)
            ) { [self] ok in
                switch countdown.arrive(ok) {
                case .waiting:
                    return
                case .allAcknowledged:
                    // Measured on a monotonic clock: how long the acknowledgement took, whatever the wall clock did.
                    if written.duration(to: .now) > .milliseconds(InDoubtDecision.maxIntentWaitMs) {
                        writeIntents(post, ids: ids, intentAt: intentAt, then: proceed)
                    } else {
                        proceed(true)
                    }
                case .refused:
                    proceed(false)
                }
            }
        }
    }
}

/// Where Slack put a message, heard on the engine thread just before the post's completion.
final class PostedBox: Sendable {
    private let stored = Mutex<PostedMessage?>(nil)
    func set(_ message: PostedMessage) { stored.withLock { $0 = message } }
    var value: PostedMessage? { stored.withLock { $0 } }
}

/// When a message's intents were written (wall ms; 0 before).
final class IntentClock: Sendable {
    private let ms = Atomic<Int64>(0)
    func set(_ value: Int64) { ms.store(value, ordering: .releasing) }
    var value: Int64 { ms.load(ordering: .acquiring) }
}

/// Counts the acknowledgements of one message's intents.
final class IntentCountdown: Sendable {
    enum Arrival { case waiting, allAcknowledged, refused }
    private let state: Mutex<(left: Int, refused: Bool)>

    init(_ count: Int) { state = Mutex((count, false)) }

    /// One answer; the last one says whether all were acknowledged.
    func arrive(_ ok: Bool) -> Arrival {
        state.withLock { s in
            s.left -= 1
            if !ok { s.refused = true }
            guard s.left == 0 else { return .waiting }
            return s.refused ? .refused : .allAcknowledged
        }
    }
}
