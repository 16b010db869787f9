import CCurl
import Contracts
import Foundation
import Logging

/// One POST handed to the engine. Owned by the engine thread once submitted.
final class Transfer: @unchecked Sendable {
    let slot: Int
    let body: [UInt8]
    /// Extra header lines (signatures); empty for Slack, which uses the shared header list.
    let extraHeaders: [String]
    let completion: @Sendable (DeliveryOutcome) -> Void
    /// Withdraws the message while it has not started.
    let cancellation: DeliveryCancellation?
    var headerList: UnsafeMutablePointer<curl_slist>?
    var response: [UInt8] = []
    var retryAfter: String?
    var startedAt: UInt64 = 0

    /// A Web API request: its path (and query) after the destination's base URL, its method, the
    /// room kept for the answer, and who gets the raw answer (a `conversations.history` page).
    var api: APIRequest?

    init(slot: Int, body: [UInt8], extraHeaders: [String], cancellation: DeliveryCancellation? = nil,
         completion: @escaping @Sendable (DeliveryOutcome) -> Void) {
        self.slot = slot
        self.body = body
        self.extraHeaders = extraHeaders
        self.cancellation = cancellation
        self.completion = completion
    }

    var isWithdrawn: Bool { cancellation?.isCancelled ?? false }

    /// A Slack Web API call on the destination's base URL (`slack_app` destinations).
    convenience init(slot: Int, api: APIRequest, body: [UInt8], cancellation: DeliveryCancellation? = nil,
                     completion: @escaping @Sendable (DeliveryOutcome) -> Void) {
        self.init(slot: slot, body: body, extraHeaders: [], cancellation: cancellation, completion: completion)
        self.api = api
    }

    /// Bytes of the answer kept.
    var responseRoom: Int { api?.maxResponseBytes ?? 1024 }

    /// Called on the engine thread when the transfer is about to start (its destination's turn,
    /// a token taken), with a function to call once it may really start (true) or must not
    /// (false: completed as `shuttingDown`, not sent). The destination waits meanwhile. The
    /// dispatcher writes its delivery intents here, so only posts that start are in doubt after a
    /// crash, not those still queued behind the rate limit.
    var gate: (@Sendable (_ proceed: @escaping @Sendable (Bool) -> Void) -> Void)?
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

/// Settings of the HTTP engine.
public struct EngineSettings: Sendable {
    /// TCP + TLS connect timeout.
    public var connectTimeoutMilliseconds: Int = 3_000
    /// Whole-request timeout.
    public var totalTimeoutMilliseconds: Int = 10_000
    /// Transfers in flight at once over all destinations (each destination has at most one).
    public var maxInFlight: Int = 1_024
    /// Messages queued per destination before new ones are handed back as `backlogged`.
    public var maxQueuedPerDestination: Int = 100
    /// A destination paused (429) for longer than this hands its queue back as `backlogged`
    /// instead of holding it in memory.
    public var maxHoldSeconds: Double = 30
    /// Size of the multi handle's connection cache (CURLMOPT_MAXCONNECTS). Keep it at least
    /// `maxInFlight` so busy periods do not close and reopen connections.
    public var connectionCacheSize: Int = 1_024
    /// Connections per host at most (CURLMOPT_MAX_HOST_CONNECTIONS); 0 = no limit.
    public var maxConnectionsPerHost: Int = 0
    public var userAgent: String = "account-health-fleet-dispatcher/1"
    public var classifier = ResponseClassifier()
    /// Called on the engine thread as each transfer starts, with the destination's index (in the
    /// order given to the deliverer) and the monotonic time in nanoseconds: lets a benchmark audit
    /// the sender's own spacing. Keep it cheap.
    public var onTransferStart: (@Sendable (_ destinationIndex: Int, _ monotonicNanos: UInt64) -> Void)?

    public init() {}
}

/// The HTTP engine: ONE dedicated thread drives libcurl's multi interface
/// (`curl_multi_poll` / `curl_multi_perform` / `curl_multi_info_read`) for every destination.
/// Per destination it keeps a token bucket, a pause (after a 429), a FIFO queue and at most one
/// transfer in flight (so messages to one channel keep their order). Waiting destinations sit on
/// the thread's timer heap: no thread per destination, no sleep per request. Completions are
/// called on the engine thread.
final class CurlEngine: @unchecked Sendable {
    struct Slot {
        let name: String
        let url: String
        let kind: Destination.Kind
        /// `Authorization: Bearer <token>` of a `slack_app` destination (a secret; engine only).
        var authorization: String? = nil
        var bucket: TokenBucket
        var pausedUntil: UInt64 = 0
        var queue: [Transfer] = []
        var head = 0
        var busy = false
        var timerAt: UInt64 = 0
        var inReady = false
        var queued: Int { queue.count - head }
    }

    private let settings: EngineSettings
    private let logger: Logger

    // Shared with submitters, under `lock`.
    private let lock = NSLock()
    private var inbox: [Transfer] = []
    /// Gated transfers whose gate answered (see `Transfer.gate`).
    private var reopened: [(Transfer, Bool)] = []
    private var stopRequested = false
    private var sweepRequested = false
    private var finished = false
    private var stopWaiters: [CheckedContinuation<Void, Never>] = []
    private var engineThread: pthread_t?

    // Engine thread only.
    private let multi: UnsafeMutableRawPointer
    private let slackHeaders: UnsafeMutablePointer<curl_slist>
    private var slots: [Slot]
    private var timers = TimerHeap()
    private var ready: [Int] = []
    private var readyHead = 0
    private var inFlight: [UnsafeMutableRawPointer: Transfer] = [:]
    /// Transfers waiting for their gate, their destination busy meanwhile.
    private var gated: [ObjectIdentifier: Transfer] = [:]
    private var idleHandles: [UnsafeMutableRawPointer] = []
    private var stopHandled = false

    private static let globalInit: Bool = ccurl_global_init_default() == CURLE_OK

    init(destinations: [Destination], settings: EngineSettings, logger: Logger) throws(SlackDeliveryError) {
        guard Self.globalInit else { throw .engineStartFailed(reason: "curl_global_init failed") }
        guard let m = curl_multi_init() else { throw .engineStartFailed(reason: "curl_multi_init failed") }
        var list: UnsafeMutablePointer<curl_slist>? = nil
        for h in ["Content-Type: application/json; charset=utf-8", "Expect:"] {
            guard let next = curl_slist_append(list, h) else {
                curl_slist_free_all(list)
                curl_multi_cleanup(m)
                throw .engineStartFailed(reason: "curl_slist_append failed")
            }
            list = next
        }
        self.multi = m
        self.slackHeaders = list!
        self.settings = settings
        self.logger = logger
        let now = DeliveryClock.monotonicNanos()
        self.slots = destinations.map {
            var slot = Slot(name: $0.name, url: $0.url.secret, kind: $0.kind, bucket: TokenBucket(limit: $0.rateLimit, now: now))
            if $0.kind == .slackApp, let token = $0.botToken { slot.authorization = "Authorization: Bearer " + token.secret }
            return slot
        }
        _ = ccurl_multi_setopt_long(m, CURLMOPT_MAXCONNECTS, settings.connectionCacheSize)
        if settings.maxConnectionsPerHost > 0 {
            _ = ccurl_multi_setopt_long(m, CURLMOPT_MAX_HOST_CONNECTIONS, settings.maxConnectionsPerHost)
        }
        let thread = Thread { [self] in self.run() }
        thread.name = "slack-curl"
        thread.start()
    }

    // MARK: - Submitters (any thread)

    /// Hands a transfer to the engine thread. Completes at once with `shuttingDown` after `stop`.
    func submit(_ t: Transfer) {
        lock.lock()
        if stopRequested {
            lock.unlock()
            t.completion(.retryLater(.shuttingDown, notBefore: DeliveryClock.wallNow()))
            return
        }
        let wasEmpty = inbox.isEmpty
        inbox.append(t)
        // Woken under the lock: the multi handle cannot be freed meanwhile (see `cleanup`).
        if wasEmpty { curl_multi_wakeup(multi) }
        lock.unlock()
    }

    /// A gate answered (any thread): the engine starts the transfer, or completes it unsent.
    func reopen(_ t: Transfer, proceed: Bool) {
        lock.lock()
        if finished {
            lock.unlock()
            return // completed as shutting down by the stop
        }
        let wasEmpty = inbox.isEmpty && reopened.isEmpty
        reopened.append((t, proceed))
        if wasEmpty { curl_multi_wakeup(multi) }
        lock.unlock()
    }

    /// Stops taking work, hands queued messages back as `shuttingDown`, lets transfers in flight
    /// finish (bounded by the total timeout), frees every curl handle, and returns.
    func stop() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            lock.lock()
            if finished {
                lock.unlock()
                c.resume()
                return
            }
            stopRequested = true
            stopWaiters.append(c)
            curl_multi_wakeup(multi)
            lock.unlock()
        }
    }

    /// Asks the engine to complete every queued message whose cancellation was cancelled with
    /// `retryLater(.withdrawn)` now, rather than when it reaches the head of its queue.
    func sweepWithdrawn() {
        lock.lock()
        if !stopRequested && !finished {
            sweepRequested = true
            curl_multi_wakeup(multi)
        }
        lock.unlock()
    }

    /// Asks the engine to stop without waiting.
    func requestStop() {
        lock.lock()
        if !stopRequested && !finished {
            stopRequested = true
            curl_multi_wakeup(multi)
        }
        lock.unlock()
    }

    // MARK: - Engine thread

    /// Whether the caller runs on the engine thread (completions do).
    var isEngineThread: Bool {
        lock.lock(); defer { lock.unlock() }
        guard let t = engineThread else { return false }
        return pthread_equal(t, pthread_self()) != 0
    }

    private func run() {
        lock.lock()
        engineThread = pthread_self()
        lock.unlock()
        var batch: [Transfer] = []
        var opened: [(Transfer, Bool)] = []
        while true {
            lock.lock()
            swap(&batch, &inbox)
            swap(&opened, &reopened)
            let stop = stopRequested
            let sweep = sweepRequested
            sweepRequested = false
            lock.unlock()
            var now = DeliveryClock.monotonicNanos()
            if !opened.isEmpty {
                for (t, proceed) in opened { passGate(t, proceed: proceed, now: now) }
                opened.removeAll(keepingCapacity: true)
            }
            if !batch.isEmpty {
                let wall = DeliveryClock.wallNow()
                for t in batch { enqueue(t, now: now, wall: wall) }
                batch.removeAll(keepingCapacity: true)
            }
            if stop && !stopHandled { handleStop() }
            if sweep { removeWithdrawn() }
            while let due = timers.popDue(now: now) {
                guard slots[due.slot].timerAt == due.at else { continue }
                slots[due.slot].timerAt = 0
                pump(due.slot, now: now)
            }
            var running: Int32 = 0
            _ = curl_multi_perform(multi, &running)
            collectFinished()
            if stopHandled && inFlight.isEmpty && gated.isEmpty { break }

            var waitMs = 1000
            var curlWait = -1
            _ = curl_multi_timeout(multi, &curlWait)
            if curlWait >= 0 { waitMs = min(waitMs, curlWait) }
            now = DeliveryClock.monotonicNanos()
            if let next = timers.earliest {
                waitMs = next <= now ? 0 : min(waitMs, Int((next - now + 999_999) / 1_000_000))
            }
            if waitMs > 0 {
                lock.lock()
                if !inbox.isEmpty || !reopened.isEmpty || sweepRequested || (stopRequested && !stopHandled) { waitMs = 0 }
                lock.unlock()
            }
            if waitMs > 0 {
                _ = curl_multi_poll(multi, nil, 0, Int32(waitMs), nil)
            }
        }
        cleanup()
    }

    private func complete(_ t: Transfer, _ outcome: DeliveryOutcome) {
        t.completion(outcome)
    }

    private func enqueue(_ t: Transfer, now: UInt64, wall: Timestamp) {
        let i = t.slot
        if stopHandled {
            complete(t, .retryLater(.shuttingDown, notBefore: wall))
            return
        }
        if t.isWithdrawn {
            complete(t, .retryLater(.withdrawn, notBefore: wall))
            return
        }
        let pausedFor = slots[i].pausedUntil > now ? Double(slots[i].pausedUntil - now) / 1e9 : 0
        if pausedFor > settings.maxHoldSeconds {
            complete(t, .retryLater(.backlogged, notBefore: DeliveryClock.wall(atMonotonic: slots[i].pausedUntil, monotonicNow: now, wallNow: wall)))
            return
        }
        if slots[i].queued >= settings.maxQueuedPerDestination {
            let rate = slots[i].bucket.limit.perSecond
            let waitNs = UInt64(Double(slots[i].queued) / rate * 1e9)
            complete(t, .retryLater(.backlogged, notBefore: DeliveryClock.wall(atMonotonic: max(now, slots[i].pausedUntil) + waitNs, monotonicNow: now, wallNow: wall)))
            return
        }
        slots[i].queue.append(t)
        pump(i, now: now)
    }

    /// Completes every queued message that was withdrawn; the queues keep their order.
    private func removeWithdrawn() {
        let wall = DeliveryClock.wallNow()
        for i in slots.indices where slots[i].queued > 0 {
            var kept: [Transfer] = [], withdrawn: [Transfer] = []
            for t in slots[i].queue[slots[i].head...] {
                if t.isWithdrawn { withdrawn.append(t) } else { kept.append(t) }
            }
            guard !withdrawn.isEmpty else { continue }
            slots[i].queue = kept
            slots[i].head = 0
            for t in withdrawn { complete(t, .retryLater(.withdrawn, notBefore: wall)) }
        }
    }

    private func schedule(_ i: Int, at: UInt64) {
        if slots[i].timerAt != 0 && slots[i].timerAt <= at { return }
        slots[i].timerAt = at
        timers.push(at: at, slot: i)
    }

    /// Starts the destination's next message if it is not busy, not paused, has a token and the
    /// engine has room; otherwise arms its timer or puts it on the ready list.
    private func pump(_ i: Int, now: UInt64) {
        while slots[i].queued > 0, slots[i].queue[slots[i].head].isWithdrawn {
            let t = slots[i].queue[slots[i].head]
            slots[i].head += 1
            complete(t, .retryLater(.withdrawn, notBefore: DeliveryClock.wallNow()))
        }
        if slots[i].queued == 0, slots[i].head > 0 {
            slots[i].queue.removeAll(keepingCapacity: true)
            slots[i].head = 0
        }
        guard !slots[i].busy, slots[i].queued > 0 else { return }
        if slots[i].pausedUntil > now {
            schedule(i, at: slots[i].pausedUntil)
            return
        }
        if inFlight.count >= settings.maxInFlight {
            if !slots[i].inReady {
                slots[i].inReady = true
                ready.append(i)
            }
            return
        }
        let at = slots[i].bucket.nextTokenAt(now: now)
        if at > now {
            schedule(i, at: at)
            return
        }
        _ = slots[i].bucket.tryTake(now: now)
        let t = slots[i].queue[slots[i].head]
        slots[i].head += 1
        if slots[i].head == slots[i].queue.count {
            slots[i].queue.removeAll(keepingCapacity: true)
            slots[i].head = 0
        } else if slots[i].head >= 32 && slots[i].head * 2 >= slots[i].queue.count {
            slots[i].queue.removeFirst(slots[i].head)
            slots[i].head = 0
        }
        if let gate = t.gate {
            t.gate = nil
            slots[i].busy = true
            gated[ObjectIdentifier(t)] = t
            gate { [weak self] proceed in self?.reopen(t, proceed: proceed) }
            return
        }
        start(t, now: now)
    }

    /// A gated transfer's gate answered: start it, or complete it unsent.
    private func passGate(_ t: Transfer, proceed: Bool, now: UInt64) {
        guard gated.removeValue(forKey: ObjectIdentifier(t)) != nil else { return }
        slots[t.slot].busy = false
        if t.isWithdrawn {
            finishWithoutTransfer(t, .retryLater(.withdrawn, notBefore: DeliveryClock.wallNow()))
        } else if proceed && !stopHandled {
            start(t, now: now)
        } else {
            finishWithoutTransfer(t, .retryLater(.shuttingDown, notBefore: DeliveryClock.wallNow()))
        }
    }

    private func pumpReady(now: UInt64) {
        while inFlight.count < settings.maxInFlight && readyHead < ready.count {
            let i = ready[readyHead]
            readyHead += 1
            slots[i].inReady = false
            pump(i, now: now)
        }
        if readyHead == ready.count {
            ready.removeAll(keepingCapacity: true)
            readyHead = 0
        } else if readyHead > 1024 && readyHead * 2 > ready.count {
            ready.removeFirst(readyHead)
            readyHead = 0
        }
    }

    private func makeHandle() -> UnsafeMutableRawPointer? {
        guard let h = curl_easy_init() else { return nil }
        _ = ccurl_easy_setopt_long(h, CURLOPT_NOSIGNAL, 1)
        _ = ccurl_easy_setopt_long(h, CURLOPT_POST, 1)
        _ = ccurl_easy_setopt_long(h, CURLOPT_SSL_VERIFYPEER, 1)
        _ = ccurl_easy_setopt_long(h, CURLOPT_SSL_VERIFYHOST, 2)
        _ = ccurl_easy_setopt_long(h, CURLOPT_FOLLOWLOCATION, 0)
        _ = ccurl_easy_setopt_long(h, CURLOPT_TCP_KEEPALIVE, 1)
        _ = ccurl_easy_setopt_long(h, CURLOPT_PIPEWAIT, 1)
        _ = ccurl_easy_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, settings.connectTimeoutMilliseconds)
        _ = ccurl_easy_setopt_long(h, CURLOPT_TIMEOUT_MS, settings.totalTimeoutMilliseconds)
        _ = ccurl_easy_setopt_ptr(h, CURLOPT_PROTOCOLS_STR, "http,https")
        _ = ccurl_easy_setopt_ptr(h, CURLOPT_USERAGENT, settings.userAgent)
        _ = ccurl_easy_setopt_write_cb(h) { data, size, count, user in
            let n = size * count
            guard let user, let data else { return n }
            let t = Unmanaged<Transfer>.fromOpaque(user).takeUnretainedValue()
            let room = t.responseRoom - t.response.count
            if room > 0 {
                data.withMemoryRebound(to: UInt8.self, capacity: n) { p in
                    t.response.append(contentsOf: UnsafeBufferPointer(start: p, count: min(room, n)))
                }
            }
            return n
        }
        _ = ccurl_easy_setopt_header_cb(h) { data, size, count, user in
            let n = size * count
            guard let user, let data else { return n }
            let t = Unmanaged<Transfer>.fromOpaque(user).takeUnretainedValue()
            let line = data.withMemoryRebound(to: UInt8.self, capacity: n) { p in
                String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
            }
            if line.hasPrefix("HTTP/") {
                t.retryAfter = nil
            } else if line.count > 12, line.prefix(12).lowercased() == "retry-after:" {
                t.retryAfter = String(line.dropFirst(12))
            }
            return n
        }
        return h
    }

    private func start(_ t: Transfer, now: UInt64) {
        let i = t.slot
        guard let easy = idleHandles.popLast() ?? makeHandle() else {
            finishWithoutTransfer(t, .retryLater(.connectionFailed(detail: "could not create a curl handle"), notBefore: DeliveryClock.wallNow()))
            return
        }
        // Only the destination's scheme is allowed: https, or http where the destination allows it.
        let url = t.api.map { slots[i].url + $0.pathAndQuery } ?? slots[i].url
        _ = url.withCString { ccurl_easy_setopt_ptr(easy, CURLOPT_URL, $0) }
        _ = ccurl_easy_setopt_ptr(easy, CURLOPT_PROTOCOLS_STR, slots[i].url.hasPrefix("https") ? "https" : "http")
        if t.api?.isGet == true {
            _ = ccurl_easy_setopt_long(easy, CURLOPT_HTTPGET, 1)
        } else {
            _ = ccurl_easy_setopt_long(easy, CURLOPT_POST, 1)
            _ = ccurl_easy_setopt_off(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(t.body.count))
            _ = t.body.withUnsafeBytes { ccurl_easy_setopt_ptr(easy, CURLOPT_COPYPOSTFIELDS, $0.baseAddress) }
        }
        if let auth = slots[i].authorization {
            // Only a slack_app destination has one; the token goes in this header and nowhere else.
            var list: UnsafeMutablePointer<curl_slist>? = nil
            for h in ["Content-Type: application/json; charset=utf-8", "Expect:", auth] + t.extraHeaders {
                if let next = curl_slist_append(list, h) { list = next }
            }
            t.headerList = list
            _ = ccurl_easy_setopt_ptr(easy, CURLOPT_HTTPHEADER, list)
        } else if t.extraHeaders.isEmpty {
            _ = ccurl_easy_setopt_ptr(easy, CURLOPT_HTTPHEADER, slackHeaders)
        } else {
            var list: UnsafeMutablePointer<curl_slist>? = nil
            for h in ["Content-Type: application/json; charset=utf-8", "Expect:"] + t.extraHeaders {
                if let next = curl_slist_append(list, h) { list = next }
            }
            t.headerList = list
            _ = ccurl_easy_setopt_ptr(easy, CURLOPT_HTTPHEADER, list)
        }
        let user = Unmanaged.passUnretained(t).toOpaque()
        _ = ccurl_easy_setopt_ptr(easy, CURLOPT_WRITEDATA, user)
        _ = ccurl_easy_setopt_ptr(easy, CURLOPT_HEADERDATA, user)
        t.startedAt = now
        settings.onTransferStart?(i, now)
        slots[i].busy = true
        inFlight[easy] = t
        let rc = curl_multi_add_handle(multi, easy)
        if rc != CURLM_OK {
            inFlight[easy] = nil
            slots[i].busy = false
            recycle(easy, t)
            finishWithoutTransfer(t, .retryLater(.connectionFailed(detail: "curl_multi_add_handle failed"), notBefore: DeliveryClock.wallNow()))
        }
    }

    private func finishWithoutTransfer(_ t: Transfer, _ outcome: DeliveryOutcome) {
        complete(t, outcome)
        pump(t.slot, now: DeliveryClock.monotonicNanos())
    }

    private func recycle(_ easy: UnsafeMutableRawPointer, _ t: Transfer) {
        if let l = t.headerList {
            curl_slist_free_all(l)
            t.headerList = nil
        }
        _ = ccurl_easy_setopt_ptr(easy, CURLOPT_WRITEDATA, nil)
        _ = ccurl_easy_setopt_ptr(easy, CURLOPT_HEADERDATA, nil)
        _ = ccurl_easy_setopt_ptr(easy, CURLOPT_HTTPHEADER, nil)
        if idleHandles.count < settings.maxInFlight {
            idleHandles.append(easy)
        } else {
            curl_easy_cleanup(easy)
        }
    }

    private func collectFinished() {
        var left: Int32 = 0
        var any = false
        while let msg = curl_multi_info_read(multi, &left) {
            guard ccurl_msg_is_done(msg) != 0, let easy = ccurl_msg_easy(msg) else { continue }
            let code = ccurl_msg_result(msg)
            curl_multi_remove_handle(multi, easy)
            guard let t = inFlight.removeValue(forKey: easy) else {
                curl_easy_cleanup(easy)
                continue
            }
            any = true
            let result: TransportResult
            if code == CURLE_OK {
                var status = 0
                _ = ccurl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
                result = .response(status: status, body: t.response, retryAfter: t.retryAfter)
            } else {
                result = .failure(Self.failure(code))
            }
            recycle(easy, t)
            let now = DeliveryClock.monotonicNanos()
            let outcome = settings.classifier.classify(result, kind: slots[t.slot].kind, now: DeliveryClock.wallNow())
            slots[t.slot].busy = false
            if case let .retryLater(.rateLimited(seconds), _) = outcome {
                pause(t.slot, seconds: seconds, now: now)
            }
            log(t, outcome, now: now)
            t.api?.onResult?(result)
            complete(t, outcome)
            pump(t.slot, now: now)
        }
        if any { pumpReady(now: DeliveryClock.monotonicNanos()) }
    }

    /// A 429: only this destination waits until Retry-After; a pause longer than the hold limit
    /// hands its queue back to the callers.
    private func pause(_ i: Int, seconds: Double, now: UInt64) {
        let until = now + UInt64(seconds * 1e9)
        slots[i].pausedUntil = max(slots[i].pausedUntil, until)
        slots[i].bucket.restart(at: slots[i].pausedUntil)
        if seconds > settings.maxHoldSeconds && slots[i].queued > 0 {
            let wall = DeliveryClock.wallNow()
            let notBefore = DeliveryClock.wall(atMonotonic: slots[i].pausedUntil, monotonicNow: now, wallNow: wall)
            let held = slots[i].queue[slots[i].head...]
            slots[i].queue.removeAll()
            slots[i].head = 0
            for t in held { complete(t, .retryLater(.backlogged, notBefore: notBefore)) }
        }
    }

    private func log(_ t: Transfer, _ outcome: DeliveryOutcome, now: UInt64) {
        let ms = Double(now - t.startedAt) / 1e6
        switch outcome {
        case .delivered:
            logger.trace("delivered", metadata: ["destination": "\(slots[t.slot].name)", "ms": "\(ms)"])
        case let .retryLater(reason, notBefore):
            logger.info("delivery to retry", metadata: ["destination": "\(slots[t.slot].name)", "reason": "\(reason.code)", "detail": "\(reason)", "not_before": "\(notBefore.rfc3339)"])
        case let .permanent(reason):
            logger.warning("delivery failed permanently", metadata: ["destination": "\(slots[t.slot].name)", "reason": "\(reason.code)", "detail": "\(reason)"])
        }
    }

    static func failure(_ code: CURLcode) -> TransportFailure {
        let text = curl_easy_strerror(code).map { String(cString: $0) } ?? "error"
        let detail = "\(text) (curl \(code.rawValue))"
        switch code {
        case CURLE_OPERATION_TIMEDOUT: return .timeout
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL: return .badURL
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
             CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS:
            return .tls(detail: detail)
        default: return .connection(detail: detail)
        }
    }

    private func handleStop() {
        stopHandled = true
        let wall = DeliveryClock.wallNow()
        for i in slots.indices where slots[i].queued > 0 {
            let held = slots[i].queue[slots[i].head...]
            slots[i].queue.removeAll()
            slots[i].head = 0
            for t in held { complete(t, .retryLater(.shuttingDown, notBefore: wall)) }
        }
        timers.removeAll()
        ready.removeAll()
        readyHead = 0
        // Waiting for their gate: not sent, handed back (a late answer of the gate is ignored).
        let waiting = gated.values
        gated.removeAll()
        for t in waiting {
            slots[t.slot].busy = false
            complete(t, .retryLater(.shuttingDown, notBefore: wall))
        }
    }

    private func cleanup() {
        lock.lock()
        finished = true
        // Work that raced in after the stop was handled.
        let late = inbox
        inbox.removeAll()
        let waiters = stopWaiters
        stopWaiters.removeAll()
        lock.unlock()
        for (easy, t) in inFlight {
            curl_multi_remove_handle(multi, easy)
            if let l = t.headerList { curl_slist_free_all(l) }
            curl_easy_cleanup(easy)
        }
        inFlight.removeAll()
        for h in idleHandles { curl_easy_cleanup(h) }
        idleHandles.removeAll()
        curl_multi_cleanup(multi)
        curl_slist_free_all(slackHeaders)
        let wall = DeliveryClock.wallNow()
        for t in late { t.completion(.retryLater(.shuttingDown, notBefore: wall)) }
        for w in waiters { w.resume() }
    }
}
