import AlertRules
import Contracts
import Foundation
import Kafka
import Logging
import SlackDelivery
import WorkerRuntime

extension DestinationScheduleState: StateValue {
    public init(stateBytes: [UInt8]) throws(Rejection) {
        do {
            try self.init(decoding: stateBytes)
        } catch {
            throw Rejection(code: "bad_state", reason: "destination schedule: \(error)")
        }
    }

    /// Empty only if encoding failed: the runtime then refuses to write it (and says so).
    public var stateBytes: [UInt8] { (try? encoded()) ?? [] }
}

/// dispatcher's processor: `alerts` (keyed by destination) and its co-partitioned followers
/// `alerts-retry-1..3` in, Slack out; per-destination time (`DestinationScheduleState`: alerts held
/// for quiet hours, digest items) in its changelog; the delivery log in `alerts-delivered`.
///
/// For each alert, on the worker thread (steps 1 to 3 decided by `Admission`):
/// 1. a retry record not due yet pauses its topic-partition until then (`retryLater`); an alert
///    of a destination held by a rate limit is parked until the hold ends, so the partition's
///    other destinations keep flowing (only past `maxParkedPerDestination` parked alerts does the
///    partition wait for the hold);
/// 2. an alert the delivery log holds (or that is being delivered) is done at once;
/// 3. the destination's schedule may hold it (quiet hours) or queue it for a digest: it is then
///    kept in the state, written durably before the record's offset is committed; the timer
///    re-emits it to `alerts` when due (marked released), so nothing is held only in memory;
/// 4. else its record is kept open (`deferCompletion`) and it waits a short group wait for alerts
///    about the same account raised with it; the group leaves as ONE message.
///
/// On the delivery engine's thread (`DeliveryRouter`, decided by `OutcomeRouting`): 2xx writes one
/// delivery-log record per alert then finishes each record, so an offset is committed only once its log write is
/// acknowledged; 429 parks the message and holds only its destination, no attempt used; 5xx,
/// timeouts and connection errors go to the next retry topic with attempt, due time and history
/// headers; 400/403/404/410 and exhausted retries go to `alerts-dlt` with the reason and the history.
public final class DispatcherProcessor: RecordProcessor {
    public typealias State = DestinationScheduleState

    public let deliverer: SlackDeliverer
    public let schedule: DestinationSchedule
    public let settings: DispatcherSettings
    public let topics: DispatcherTopics
    public let log: DeliveryLog
    let router: DeliveryRouter
    let logger: Logger
    /// Reads a partition's delivery log (what was delivered, what is in doubt) at its assignment,
    /// on the runtime's restore thread (`assignmentReader`).
    let readLog: @Sendable (Int32) throws -> DeliveryLogSnapshot
    /// When the delivery log's memory was last pruned to its horizon (wall ms).
    private var lastPrune: Int64 = 0

    /// Per partition and destination: the group waits.
    private var groupers: [Int32: [String: AlertGrouper]] = [:]
    /// Per partition: the open alerts waiting in groups, by delivery key.
    private var waiting: [Int32: [String: WaitingAlert]] = [:]
    /// Per partition (this assignment): cancelled when it is revoked, which withdraws its posts
    /// that have not started (queued behind a rate limit), so a leaving owner never posts what
    /// the next owner will post.
    private var cancellations: [Int32: DeliveryCancellation] = [:]

    public init(
        deliverer: SlackDeliverer, schedule: DestinationSchedule, settings: DispatcherSettings,
        topics: DispatcherTopics,
        logger: Logger, metrics: DispatcherMetrics = DispatcherMetrics(),
        clock: WallClock = .system, readLog: @escaping @Sendable (Int32) throws -> DeliveryLogSnapshot
    ) {
        self.deliverer = deliverer
        self.schedule = schedule
        self.settings = settings
        self.topics = topics
        self.logger = logger
        self.readLog = readLog
        let log = DeliveryLog()
        self.log = log
        self.router = DeliveryRouter(
            topics: topics, settings: settings, log: log, metrics: metrics, logger: logger, clock: clock)
    }

    /// The delivery log is read on the restore thread, before the partition's records flow: a
    /// log that cannot be read keeps the partition paused (the restore is retried), so an alert is
    /// never posted without its log in memory.
    public var assignmentReader: (@Sendable (Int32) throws -> any Sendable)? {
        { [readLog] partition in try readLog(partition) }
    }

    public func partitionAssigned(context: ProcessingContext<DestinationScheduleState>) {
        let p = context.partition
        cancellations[p] = DeliveryCancellation()
        // Nothing read only where no reader ran (a `ProcessorHarness` whose reader failed).
        let snapshot = context.assignmentData as? DeliveryLogSnapshot ?? DeliveryLogSnapshot()
        log.load(partition: p, snapshot: snapshot)
        logger.info(
            "delivery log restored",
            metadata: [
                "partition": "\(p)", "keys": "\(snapshot.delivered.count)", "in_doubt": "\(snapshot.inDoubt.count)",
            ])
    }

    /// The partition is being revoked: only posts already on the wire are waited for. Everything
    /// not sent yet (alerts in a group wait, posts queued behind a rate limit or parked by a 429)
    /// is handed back unfinished, uncommitted, for the next owner to post — so the drain ends
    /// within one request's time, and a leaving owner never posts what the next one posts too.
    public func partitionDraining(context: ProcessingContext<DestinationScheduleState>) {
        handBack(partition: context.partition)
    }

    public func partitionRevoked(context: ProcessingContext<DestinationScheduleState>) {
        let p = context.partition
        handBack(partition: p)  // a lost partition is revoked without a drain
        cancellations[p] = nil
        groupers[p] = nil
        log.drop(partition: p)
    }

    private func handBack(partition p: Int32) {
        cancellations[p]?.cancel()
        deliverer.withdrawCancelled()
        groupers[p] = nil
        if let open = waiting.removeValue(forKey: p) { router.giveUp(Array(open.values)) }
        for parked in router.takeParked(partition: p, now: 0, all: true) { router.giveUp(parked) }
    }

    public func process(_ record: ConsumedRecord, context: ProcessingContext<DestinationScheduleState>)
        throws(Rejection)
    {
        let alert: AlertRecord
        do {
            alert = try RecordCoding.decode(AlertRecord.self, from: record.value ?? [])
        } catch {
            throw Rejection(
                code: "invalid_alert", reason: "not an alerts record: \(String(describing: error).prefix(200))")
        }
        let now = context.wallClockMilliseconds
        let p = context.partition
        if let reason = alert.suppressed {
            recordSuppressed(alert, reason: reason, now: now, context: context)
            return
        }
        let fromRetry = record.topic != topics.alerts
        // Untrusted like the value: validated here, by the rules of `RetryHeaderCheck`.
        let headers = readRetryHeaders(record, now: now)
        let key = alert.deliveryKey
        let holdUntil = router.heldUntil(alert.destination, now: now)
        // An edit of a posted message notifies nobody: quiet hours and digests do not hold it.
        let consultSchedule =
            settings.schedule && !fromRetry && alert.update == nil
            && record.headers.last(named: RetryHeaders.released) == nil
        // The processor gathers the facts; `Admission` decides, in the order below.
        let facts = Admission.Facts(
            now: now, retryDue: headers.due, holdUntil: holdUntil,
            parkedAlerts: holdUntil == nil ? 0 : router.parkedAlerts(alert.destination),
            maxParkedPerDestination: settings.maxParkedPerDestination, inFlight: log.inFlight(key),
            delivered: log.isDelivered(key, partition: p),
            heldBySchedule: consultSchedule
                && schedule.decide(alert, now: Timestamp(millisecondsSinceEpoch: now)) != .deliverNow)
        switch Admission.decide(facts) {
        case .notDueUntil(let due):
            context.retryLater(atMilliseconds: due)
            return
        case .waitForHold(let until):
            // A destination held by a rate limit: its alerts are parked (in `submit`) so the other
            // destinations of this partition keep flowing; past `maxParkedPerDestination` of them
            // the partition waits instead, which bounds what a long hold keeps in memory.
            context.retryLater(atMilliseconds: until)
            return
        case .waitForEarlierAssignment(let retryAt):
            // This process owned the partition before and its post of this alert is still ending
            // (delivered, or handed back): read it again once that is settled.
            context.retryLater(atMilliseconds: retryAt)
            return
        case .alreadyDelivered:
            router.metrics.duplicateSkipped(alert.destination)
            return
        case .heldBySchedule, .send:
            break
        }
        if let since = headers.inDoubtSince {
            // Its dead letter recorded that an earlier post may have landed (a replayed dead
            // letter): a Slack app channel is looked up before it is posted again.
            log.markInDoubt([key], partition: p, since: since)
        }
        if facts.heldBySchedule {
            // Kept in the state (quiet hours, a digest), released by the timer.
            var state = context.state[alert.destination] ?? DestinationScheduleState()
            let before = state
            _ = schedule.admit(alert, now: Timestamp(millisecondsSinceEpoch: now), state: &state)
            if state != before { context.state[alert.destination] = state }
            return
        }
        var edit: PostedMessage?
        if alert.update != nil {
            switch EditTarget.decide(
                kind: deliverer.kind(of: alert.destination), target: alert.thread,
                message: { log.message(of: "\($0)|\(alert.destination)", partition: p) },
                targetInFlight: { log.inFlight("\($0)|\(alert.destination)") != nil }, now: now)
            {
            case .edit(let message):
                edit = message
            case .asRecord:
                break
            case .waitForOriginal(let retryAt):
                context.retryLater(atMilliseconds: retryAt)
                return
            case .skip(let reason):
                router.metrics.updateSkipped(alert.destination, reason: reason)
                return
            }
        }
        if alert.update == nil, let thread = alert.thread, deliverer.kind(of: alert.destination) == .slackApp,
            log.message(of: "\(thread)|\(alert.destination)", partition: p) == nil,
            log.inFlight("\(thread)|\(alert.destination)") != nil
        {
            // A follow-up whose opening message is being posted right now: read again once it is
            // in the channel, so it replies in its thread instead of standing alone.
            context.retryLater(atMilliseconds: now + EditTarget.originalWaitMs)
            return
        }
        let attempt = headers.attempt
        let history = record.headers.last(named: RetryHeaders.history)?.text ?? ""
        let pending = context.deferCompletion()
        log.start(key, owner: cancellation(of: p))
        let member = WaitingAlert(alert: alert, pending: pending, attempt: attempt, history: history)
        if let edit {
            // An edit goes at once and alone: it is not an alert to group.
            submit(
                Post(
                    group: AlertGroup(single: alert), members: [member], partition: p,
                    cancellation: cancellation(of: p), edit: edit))
            return
        }
        waiting[p, default: [:]][key] = member
        let wait = schedule.policies[alert.destination]?.groupWaitMs ?? settings.defaultGroupWaitMs
        var grouper = groupers[p]?[alert.destination] ?? AlertGrouper(groupWaitMs: wait)
        let ready = grouper.add(alert, now: Timestamp(millisecondsSinceEpoch: now))
        groupers[p, default: [:]][alert.destination] = grouper
        for group in ready { post(group, partition: p) }
    }

    /// An alert people's actions hold back (snoozed, resolved, silenced): recorded in the delivery
    /// log (status 0, its reason), never sent, and recorded once.
    private func recordSuppressed(
        _ alert: AlertRecord, reason: String, now: Int64, context: ProcessingContext<DestinationScheduleState>
    ) {
        let key = alert.deliveryKey
        guard !log.isDelivered(key, partition: context.partition) else {
            router.metrics.duplicateSkipped(alert.destination)
            return
        }
        let entry = DeliveryLogEntry(
            alertId: alert.alertId, destination: alert.destination, accountId: alert.accountId,
            type: alert.deliveryLogType, deliveredAt: Timestamp(millisecondsSinceEpoch: now), status: 0, retries: 0,
            messageAlertIds: [], suppressed: String(reason.prefix(32)))
        guard let value = try? RecordCoding.encode(entry) else { return }
        context.emit(OutgoingRecord(topic: topics.delivered, partition: context.partition, key: key, value: value))
        log.delivered([key], partition: context.partition, at: now)
    }

    /// The record's retry headers as `RetryHeaderCheck` accepts them; each value refused is
    /// counted and logged with the record's place (never its value).
    private func readRetryHeaders(_ record: ConsumedRecord, now: Int64) -> RetryHeaderCheck {
        let topicAttempt = topics.retries.firstIndex(of: record.topic).map { $0 + 1 } ?? 0
        let check = RetryHeaderCheck.read(
            attempt: record.headers.last(named: RetryHeaders.attempt)?.text,
            due: record.headers.last(named: RetryHeaders.due)?.text,
            inDoubtSince: record.headers.last(named: RetryHeaders.inDoubtSince)?.text, topicAttempt: topicAttempt,
            maxAttempts: topics.retries.count, longestDelayMs: settings.retryDelaysMs.max() ?? 0,
            horizonMs: log.horizonMilliseconds, now: now)
        for refusal in check.refusals {
            router.metrics.retryHeaderRefused(header: refusal.header, reason: refusal.reason)
            logger.notice(
                "retry header refused",
                metadata: [
                    "topic": "\(record.topic)", "partition": "\(record.partition)", "offset": "\(record.offset)",
                    "header": "\(refusal.header)", "reason": "\(refusal.reason)",
                ])
        }
        return check
    }

    public func tick(nowMilliseconds now: Int64, context: ProcessingContext<DestinationScheduleState>) {
        let p = context.partition
        if now - lastPrune >= 60_000 {
            lastPrune = now
            log.prune(now: now)
        }
        if settings.schedule { releaseDue(now: now, context: context) }
        for parked in router.takeParked(partition: p, now: now) { submit(parked) }
        guard var byDestination = groupers[p] else { return }
        for name in byDestination.keys.sorted() {
            for group in byDestination[name]!.takeDue(now: Timestamp(millisecondsSinceEpoch: now)) {
                post(group, partition: p)
            }
        }
        groupers[p] = byDestination.filter { $0.value.waitingAlerts > 0 }
    }

    /// Held alerts whose time came and digests due go back to `alerts` (marked released), keyed
    /// and partitioned as before; the state drops them in the same flush, after they are acknowledged.
    private func releaseDue(now: Int64, context: ProcessingContext<DestinationScheduleState>) {
        let time = Timestamp(millisecondsSinceEpoch: now)
        for name in context.state.keys.sorted() {
            guard var state = context.state[name], let next = state.nextDue, next <= time else { continue }
            let release = schedule.takeDue(now: time, destination: name, state: &state)
            for alert in release.released + release.digests {
                do {
                    context.emit(
                        OutgoingRecord(
                            topic: topics.alerts, partition: context.partition, key: name,
                            value: try RecordCoding.encode(alert),
                            headers: [KafkaHeader(name: RetryHeaders.released, text: "1")]))
                } catch {
                    context.emitDeadLetter(
                        key: Array(name.utf8), value: Array(alert.alertId.utf8),
                        rejection: Rejection(
                            code: "output_not_encodable", reason: "alert \(alert.alertId) could not be encoded"))
                }
            }
            context.state[name] = state
        }
    }

    /// Takes the group's open alerts out of the waiting list and posts them as one message.
    private func post(_ group: AlertGroup, partition p: Int32) {
        let members = group.deliveryKeys.compactMap { waiting[p]?.removeValue(forKey: $0) }
        guard !members.isEmpty else { return }
        var post = Post(group: group, members: members, partition: p, cancellation: cancellation(of: p))
        if group.alerts.count == 1, let thread = group.lead.thread {
            // A follow-up on an episode whose opening message is in a Slack app channel: a reply.
            post.thread = log.message(of: "\(thread)|\(group.destination)", partition: p)
        }
        submit(post)
    }

    /// This assignment's cancellation of partition `p` (cancelled when it is revoked).
    private func cancellation(of p: Int32) -> DeliveryCancellation {
        if let c = cancellations[p] { return c }
        let c = DeliveryCancellation()
        cancellations[p] = c
        return c
    }

    private func submit(_ post: Post) {
        let router = self.router
        if let until = router.heldUntil(post.group.destination, now: router.clock.milliseconds()) {
            router.park(post, until: until)  // posted by the tick once the hold ends
            return
        }
        router.deliver(post, via: deliverer)  // in-doubt alerts checked, intents written as it starts, then the post
    }
}
