import BlockingWork
import CCurl
import Contracts
import Foundation
import Logging
import Synchronization

/// The HTTP engine: ONE dedicated thread drives libcurl's multi interface
/// (`curl_multi_poll` / `curl_multi_perform` / `curl_multi_info_read`) for every destination.
/// It carries transfers only: what may start and when is asked of its `DestinationScheduler`
/// (per destination a token bucket, a hold after a 429, a FIFO queue, at most one transfer in
/// flight; waiting destinations on one timer heap), so there is no thread per destination and no
/// sleep per request. Completions are called on the engine thread.
// Sendable by hand: submitters touch only `shared` (a Mutex) and wake `multi` under it; the rest is engine-thread only.
final class CurlEngine: @unchecked Sendable {
    /// A destination as the transport needs it (the URL and token are secrets; engine only).
    struct Endpoint {
        let name: String
        let url: String
        let kind: Destination.Kind
        /// `Authorization: Bearer <token>` of a `slack_app` destination.
        var authorization: String?
        /// The envelope and credentials of an `email` destination.
        var smtp: SMTPEndpoint?
    }

    /// An `email` destination as libcurl's SMTP needs it (the credentials are secrets; engine only).
    struct SMTPEndpoint {
        /// `<from>` for `MAIL FROM`.
        let mailFrom: String
        /// `<to>` for each `RCPT TO`.
        let recipients: [String]
        let username: String?
        let password: String?
        /// STARTTLS required (`CURLUSESSL_ALL`); false only for `allow_insecure_smtp`.
        let requireTLS: Bool
    }

    /// A gate's answer for `transfer` (see `Transfer.gate`).
    struct GateAnswer: Sendable {
        let transfer: Transfer
        let proceed: Bool
    }

    /// What submitters share with the engine thread.
    struct Shared {
        var inbox: [Transfer] = []
        var gateAnswers: [GateAnswer] = []
        var stopRequested = false
        var sweepRequested = false
        var finished = false
        var stopWaiters: [CheckedContinuation<Void, Never>] = []
        var engineThread: pthread_t?
    }

    private let settings: EngineSettings
    private let logger: Logger
    private let shared = Mutex(Shared())

    // Engine thread only.
    private let multi: UnsafeMutableRawPointer
    private let slackHeaders: UnsafeMutablePointer<curl_slist>
    private let endpoints: [Endpoint]
    private var scheduler: DestinationScheduler<Transfer>
    private var inFlight: [UnsafeMutableRawPointer: WireTransfer] = [:]
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
        self.endpoints = destinations.map {
            var endpoint = Endpoint(name: $0.name, url: $0.url.secret, kind: $0.kind)
            if $0.kind == .slackApp, let token = $0.botToken {
                endpoint.authorization = "Authorization: Bearer " + token.secret
            }
            if $0.kind == .email, let email = $0.email {
                endpoint.smtp = SMTPEndpoint(
                    mailFrom: email.from.angled, recipients: email.to.map(\.angled),
                    username: email.credentials?.username, password: email.credentials?.password,
                    requireTLS: email.requireTLS)
            }
            return endpoint
        }
        self.scheduler = DestinationScheduler(
            limits: destinations.map(\.rateLimit), policy: SchedulerPolicy(settings),
            now: DeliveryClock.monotonicNanos())
        _ = ccurl_multi_setopt_long(m, CURLMOPT_MAXCONNECTS, settings.connectionCacheSize)
        if settings.maxConnectionsPerHost > 0 {
            _ = ccurl_multi_setopt_long(m, CURLMOPT_MAX_HOST_CONNECTIONS, settings.maxConnectionsPerHost)
        }
        BlockingThread.start(name: "slack-curl") { [self] in self.run() }
    }

    // MARK: - Submitters (any thread)

    /// Wall time now, from `EngineSettings.wallClock`.
    func wallNow() -> Timestamp { settings.wallClock.now() }

    /// Hands a transfer to the engine thread. Completes at once with `shuttingDown` after `stop`.
    func submit(_ t: Transfer) {
        let taken = shared.withLock { s in
            guard !s.stopRequested else { return false }
            let wasEmpty = s.inbox.isEmpty
            s.inbox.append(t)
            // Woken under the lock: the multi handle cannot be freed meanwhile (see `cleanup`).
            if wasEmpty { curl_multi_wakeup(multi) }
            return true
        }
        if !taken { t.completion(.retryLater(.shuttingDown, notBefore: settings.wallClock.now())) }
    }

    /// A gate answered (any thread): the engine starts the transfer, or completes it unsent.
    func reopen(_ answer: GateAnswer) {
        shared.withLock { s in
            guard !s.finished else { return }  // completed as shutting down by the stop
            let wasEmpty = s.inbox.isEmpty && s.gateAnswers.isEmpty
            s.gateAnswers.append(answer)
            if wasEmpty { curl_multi_wakeup(multi) }
        }
    }

    /// Stops taking work, hands queued messages back as `shuttingDown`, lets transfers in flight
    /// finish (bounded by the total timeout), frees every curl handle, and returns.
    func stop() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let done = shared.withLock { s in
                guard !s.finished else { return true }
                s.stopRequested = true
                s.stopWaiters.append(c)
                curl_multi_wakeup(multi)
                return false
            }
            if done { c.resume() }
        }
    }

    /// Asks the engine to complete every queued message whose cancellation was cancelled with
    /// `retryLater(.withdrawn)` now, rather than when it reaches the head of its queue.
    func sweepWithdrawn() {
        shared.withLock { s in
            guard !s.stopRequested && !s.finished else { return }
            s.sweepRequested = true
            curl_multi_wakeup(multi)
        }
    }

    /// Asks the engine to stop without waiting.
    func requestStop() {
        shared.withLock { s in
            guard !s.stopRequested && !s.finished else { return }
            s.stopRequested = true
            curl_multi_wakeup(multi)
        }
    }

    // MARK: - Engine thread

    /// Whether the caller runs on the engine thread (completions do).
    var isEngineThread: Bool {
        shared.withLock { s in s.engineThread.map { pthread_equal($0, pthread_self()) != 0 } ?? false }
    }

    private static func withdrawn(_ t: Transfer) -> Bool { t.isWithdrawn }

    private func run() {
        shared.withLock { $0.engineThread = pthread_self() }
        var batch: [Transfer] = []
        var answers: [GateAnswer] = []
        while true {
            let (stop, sweep) = shared.withLock { s in
                swap(&batch, &s.inbox)
                swap(&answers, &s.gateAnswers)
                defer { s.sweepRequested = false }
                return (s.stopRequested, s.sweepRequested)
            }
            var now = DeliveryClock.monotonicNanos()
            if !answers.isEmpty {
                for a in answers {
                    let proceed = a.proceed && !stopHandled
                    let actions = scheduler.gateAnswered(
                        a.transfer.id, destination: a.transfer.slot, proceed: proceed,
                        now: now, isWithdrawn: Self.withdrawn)
                    carry(actions, now: now)
                }
                answers.removeAll(keepingCapacity: true)
            }
            if !batch.isEmpty {
                for t in batch {
                    let actions = scheduler.submit(
                        t, to: t.slot, gated: t.gate != nil, now: now,
                        isWithdrawn: Self.withdrawn)
                    carry(actions, now: now)
                }
                batch.removeAll(keepingCapacity: true)
            }
            if stop && !stopHandled {
                stopHandled = true
                carry(scheduler.stop(), now: now)
            }
            if sweep {
                let wall = settings.wallClock.now()
                for t in scheduler.withdraw(where: Self.withdrawn) {
                    t.completion(.retryLater(.withdrawn, notBefore: wall))
                }
            }
            carry(scheduler.takeReady(now: now, isWithdrawn: Self.withdrawn), now: now)
            var running: Int32 = 0
            _ = curl_multi_perform(multi, &running)
            collectFinished()
            now = DeliveryClock.monotonicNanos()
            carry(scheduler.takeReady(now: now, isWithdrawn: Self.withdrawn), now: now)
            if stopHandled && inFlight.isEmpty { break }

            var waitMs = 1000
            var curlWait = -1
            _ = curl_multi_timeout(multi, &curlWait)
            if curlWait >= 0 { waitMs = min(waitMs, curlWait) }
            now = DeliveryClock.monotonicNanos()
            if scheduler.hasWorkNow {
                waitMs = 0
            } else if let next = scheduler.nextWakeUp {
                waitMs = next <= now ? 0 : min(waitMs, Self.millisecondsRoundedUp(next - now))
            }
            if waitMs > 0 {
                let pending = shared.withLock { s in
                    !s.inbox.isEmpty || !s.gateAnswers.isEmpty || s.sweepRequested || (s.stopRequested && !stopHandled)
                }
                if pending { waitMs = 0 }
            }
            if waitMs > 0 {
                _ = curl_multi_poll(multi, nil, 0, Int32(waitMs), nil)
            }
        }
        cleanup()
    }

    /// `nanos` in whole milliseconds, rounded up, at most a day (a poll never waits longer).
    private static func millisecondsRoundedUp(_ nanos: UInt64) -> Int {
        Int(min(nanos / 1_000_000 + (nanos % 1_000_000 == 0 ? 0 : 1), 86_400_000))
    }

    /// Carries out what the scheduler decided, in order.
    private func carry(_ actions: [SchedulerAction<Transfer>], now: UInt64) {
        guard !actions.isEmpty else { return }
        var wall: Timestamp?
        for action in actions {
            switch action {
            case .send(let t):
                start(t, now: now)
            case .openGate(let t):
                let answer: @Sendable (Bool) -> Void = { [weak self] proceed in
                    self?.reopen(GateAnswer(transfer: t, proceed: proceed))
                }
                if let gate = t.gate { gate(answer) } else { answer(true) }
            case .handBack(let t, let reason):
                let wallNow = wall ?? settings.wallClock.now()
                wall = wallNow
                t.completion(Self.outcome(reason, now: now, wallNow: wallNow))
            }
        }
    }

    /// The outcome of a transfer handed back unsent.
    private static func outcome(_ reason: HandBackReason, now: UInt64, wallNow: Timestamp) -> DeliveryOutcome {
        switch reason {
        case .withdrawn: .retryLater(.withdrawn, notBefore: wallNow)
        case .shuttingDown, .gateClosed: .retryLater(.shuttingDown, notBefore: wallNow)
        case .backlogged(let notBefore):
            .retryLater(
                .backlogged,
                notBefore: DeliveryClock.wall(atMonotonic: notBefore, monotonicNow: now, wallNow: wallNow))
        }
    }

    /// A handle with what every transfer shares: no signals, TLS verified (peer and host), TCP
    /// keep-alive, the destination's connect and total timeouts.
    private func makeBaseHandle() -> UnsafeMutableRawPointer? {
        guard let h = curl_easy_init() else { return nil }
        _ = ccurl_easy_setopt_long(h, CURLOPT_NOSIGNAL, 1)
        _ = ccurl_easy_setopt_long(h, CURLOPT_SSL_VERIFYPEER, 1)
        _ = ccurl_easy_setopt_long(h, CURLOPT_SSL_VERIFYHOST, 2)
        _ = ccurl_easy_setopt_long(h, CURLOPT_TCP_KEEPALIVE, 1)
        _ = ccurl_easy_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, settings.connectTimeoutMilliseconds)
        _ = ccurl_easy_setopt_long(h, CURLOPT_TIMEOUT_MS, settings.totalTimeoutMilliseconds)
        return h
    }

    private func makeHandle() -> UnsafeMutableRawPointer? {
        guard let h = makeBaseHandle() else { return nil }
        _ = ccurl_easy_setopt_long(h, CURLOPT_POST, 1)
        _ = ccurl_easy_setopt_long(h, CURLOPT_FOLLOWLOCATION, 0)
        _ = ccurl_easy_setopt_long(h, CURLOPT_PIPEWAIT, 1)
        _ = ccurl_easy_setopt_ptr(h, CURLOPT_PROTOCOLS_STR, "http,https")
        _ = ccurl_easy_setopt_ptr(h, CURLOPT_USERAGENT, settings.userAgent)
        _ = ccurl_easy_setopt_write_cb(h) { data, size, count, user in
            let n = size * count
            guard let user, let data else { return n }
            let t = Unmanaged<WireTransfer>.fromOpaque(user).takeUnretainedValue()
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
            let t = Unmanaged<WireTransfer>.fromOpaque(user).takeUnretainedValue()
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

    /// A handle for one SMTP transfer: TLS verified, the destination's timeouts, the message
    /// uploaded from the transfer's body by the read callback. Never pooled (an SMTP upload's
    /// options must not leak into an HTTP post); connections are still reused through the multi.
    private func makeSMTPHandle() -> UnsafeMutableRawPointer? {
        guard let h = makeBaseHandle() else { return nil }
        _ = ccurl_easy_setopt_long(h, CURLOPT_UPLOAD, 1)
        _ = ccurl_easy_setopt_read_cb(h) { buffer, size, count, user in
            guard let buffer, let user else { return 0 }
            let t = Unmanaged<WireTransfer>.fromOpaque(user).takeUnretainedValue()
            let body = t.transfer.body
            let n = min(size * count, max(0, body.count - t.uploaded))
            guard n > 0 else { return 0 }
            body.withUnsafeBytes { src in
                guard let base = src.baseAddress else { return }
                UnsafeMutableRawPointer(buffer).copyMemory(from: base + t.uploaded, byteCount: n)
            }
            t.uploaded += n
            return n
        }
        return h
    }

    /// Starts an email: `MAIL FROM`, one `RCPT TO` per recipient, `AUTH` when the destination has
    /// credentials, STARTTLS required unless it allows insecure SMTP, then the message as `DATA`.
    private func startSMTP(_ t: Transfer, _ smtp: SMTPEndpoint, url: String, now: UInt64) {
        guard let easy = makeSMTPHandle() else {
            notStarted(t, detail: "could not create a curl handle", now: now)
            return
        }
        var list: UnsafeMutablePointer<curl_slist>? = nil
        for r in smtp.recipients {
            guard let next = curl_slist_append(list, r) else {
                // Never send to fewer recipients than configured.
                curl_slist_free_all(list)
                curl_easy_cleanup(easy)
                notStarted(t, detail: "curl_slist_append failed", now: now)
                return
            }
            list = next
        }
        let wire = WireTransfer(t, startedAt: now)
        wire.isSMTP = true
        wire.headerList = list  // freed with the handle, like a header list
        _ = url.withCString { ccurl_easy_setopt_ptr(easy, CURLOPT_URL, $0) }
        _ = ccurl_easy_setopt_ptr(easy, CURLOPT_PROTOCOLS_STR, url.lowercased().hasPrefix("smtps") ? "smtps" : "smtp")
        _ = smtp.mailFrom.withCString { ccurl_easy_setopt_ptr(easy, CURLOPT_MAIL_FROM, $0) }
        _ = ccurl_easy_setopt_ptr(easy, CURLOPT_MAIL_RCPT, list)
        if let user = smtp.username, let password = smtp.password {
            _ = user.withCString { ccurl_easy_setopt_ptr(easy, CURLOPT_USERNAME, $0) }
            _ = password.withCString { ccurl_easy_setopt_ptr(easy, CURLOPT_PASSWORD, $0) }
        }
        let tls = smtp.requireTLS ? CURLUSESSL_ALL : CURLUSESSL_NONE
        _ = ccurl_easy_setopt_long(easy, CURLOPT_USE_SSL, Int(tls.rawValue))
        _ = ccurl_easy_setopt_off(easy, CURLOPT_INFILESIZE_LARGE, curl_off_t(t.body.count))
        _ = ccurl_easy_setopt_ptr(easy, CURLOPT_READDATA, Unmanaged.passUnretained(wire).toOpaque())
        settings.onTransferStart?(t.slot, now)
        inFlight[easy] = wire
        if curl_multi_add_handle(multi, easy) != CURLM_OK {
            inFlight[easy] = nil
            recycle(easy, wire)
            notStarted(t, detail: "curl_multi_add_handle failed", now: now)
        }
    }

    private func start(_ t: Transfer, now: UInt64) {
        let i = t.slot
        if let smtp = endpoints[i].smtp {
            startSMTP(t, smtp, url: endpoints[i].url, now: now)
            return
        }
        guard let easy = idleHandles.popLast() ?? makeHandle() else {
            notStarted(t, detail: "could not create a curl handle", now: now)
            return
        }
        let wire = WireTransfer(t, startedAt: now)
        let endpoint = endpoints[i]
        // Only the destination's scheme is allowed: https, or http where the destination allows it.
        let url = t.api.map { endpoint.url + $0.pathAndQuery } ?? endpoint.url
        _ = url.withCString { ccurl_easy_setopt_ptr(easy, CURLOPT_URL, $0) }
        _ = ccurl_easy_setopt_ptr(easy, CURLOPT_PROTOCOLS_STR, endpoint.url.hasPrefix("https") ? "https" : "http")
        if t.api?.isGet == true {
            _ = ccurl_easy_setopt_long(easy, CURLOPT_HTTPGET, 1)
        } else {
            _ = ccurl_easy_setopt_long(easy, CURLOPT_POST, 1)
            _ = ccurl_easy_setopt_off(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(t.body.count))
            _ = t.body.withUnsafeBytes { ccurl_easy_setopt_ptr(easy, CURLOPT_COPYPOSTFIELDS, $0.baseAddress) }
        }
        if let auth = endpoint.authorization {
            // Only a slack_app destination has one; the token goes in this header and nowhere else.
            var list: UnsafeMutablePointer<curl_slist>? = nil
            for h in ["Content-Type: application/json; charset=utf-8", "Expect:", auth] + t.extraHeaders {
                if let next = curl_slist_append(list, h) { list = next }
            }
            wire.headerList = list
            _ = ccurl_easy_setopt_ptr(easy, CURLOPT_HTTPHEADER, list)
        } else if t.extraHeaders.isEmpty {
            _ = ccurl_easy_setopt_ptr(easy, CURLOPT_HTTPHEADER, slackHeaders)
        } else {
            var list: UnsafeMutablePointer<curl_slist>? = nil
            for h in ["Content-Type: application/json; charset=utf-8", "Expect:"] + t.extraHeaders {
                if let next = curl_slist_append(list, h) { list = next }
            }
            wire.headerList = list
            _ = ccurl_easy_setopt_ptr(easy, CURLOPT_HTTPHEADER, list)
        }
        let user = Unmanaged.passUnretained(wire).toOpaque()
        _ = ccurl_easy_setopt_ptr(easy, CURLOPT_WRITEDATA, user)
        _ = ccurl_easy_setopt_ptr(easy, CURLOPT_HEADERDATA, user)
        settings.onTransferStart?(i, now)
        inFlight[easy] = wire
        let rc = curl_multi_add_handle(multi, easy)
        if rc != CURLM_OK {
            inFlight[easy] = nil
            recycle(easy, wire)
            notStarted(t, detail: "curl_multi_add_handle failed", now: now)
        }
    }

    /// A transfer the scheduler released could not start: its destination moves on.
    private func notStarted(_ t: Transfer, detail: String, now: UInt64) {
        carry(scheduler.finished(destination: t.slot, holdFor: nil, now: now), now: now)
        t.completion(.retryLater(.connectionFailed(detail: detail), notBefore: settings.wallClock.now()))
    }

    private func recycle(_ easy: UnsafeMutableRawPointer, _ wire: WireTransfer) {
        if let l = wire.headerList {
            curl_slist_free_all(l)
            wire.headerList = nil
        }
        if wire.isSMTP {
            curl_easy_cleanup(easy)
            return
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
        while let msg = curl_multi_info_read(multi, &left) {
            guard ccurl_msg_is_done(msg) != 0, let easy = ccurl_msg_easy(msg) else { continue }
            let code = ccurl_msg_result(msg)
            curl_multi_remove_handle(multi, easy)
            guard let wire = inFlight.removeValue(forKey: easy) else {
                curl_easy_cleanup(easy)
                continue
            }
            let result: TransportResult
            if wire.isSMTP {
                result = Self.smtpResult(code, easy: easy)
            } else if code == CURLE_OK {
                var status = 0
                _ = ccurl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
                result = .response(status: status, body: wire.response, retryAfter: wire.retryAfter)
            } else {
                result = .failure(Self.failure(code))
            }
            recycle(easy, wire)
            let t = wire.transfer
            let now = DeliveryClock.monotonicNanos()
            let kind = endpoints[t.slot].kind
            let outcome = settings.classifier.classify(result, kind: kind, now: settings.wallClock.now())
            // A 429: only this destination waits until Retry-After; a hold longer than the hold
            // limit hands its queue back to the callers.
            var hold: UInt64?
            if case .retryLater(.rateLimited(let seconds), _) = outcome { hold = Nanoseconds.from(seconds: seconds) }
            carry(scheduler.finished(destination: t.slot, holdFor: hold, now: now), now: now)
            log(wire, outcome, now: now)
            t.api?.onResult?(result)
            t.completion(outcome)
        }
    }

    private func log(_ wire: WireTransfer, _ outcome: DeliveryOutcome, now: UInt64) {
        let ms = Double(now - wire.startedAt) / 1e6
        let name = endpoints[wire.transfer.slot].name
        switch outcome {
        case .delivered:
            logger.trace("delivered", metadata: ["destination": "\(name)", "ms": "\(ms)"])
        case .retryLater(let reason, let notBefore):
            logger.info(
                "delivery to retry",
                metadata: [
                    "destination": "\(name)", "reason": "\(reason.code)", "detail": "\(reason)",
                    "not_before": "\(notBefore.rfc3339)",
                ])
        case .permanent(let reason):
            logger.warning(
                "delivery failed permanently",
                metadata: [
                    "destination": "\(name)", "reason": "\(reason.code)", "detail": "\(reason)",
                ])
        }
    }

    /// An SMTP transfer's result: the server's last reply code as the status (250 when sent; 4xx
    /// or 5xx when it refused a command), a refused `AUTH` as `loginDenied`, else the transport
    /// failure (no reply: connection, TLS, timeout).
    private static func smtpResult(_ code: CURLcode, easy: UnsafeMutableRawPointer) -> TransportResult {
        var reply = 0
        _ = ccurl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &reply)
        if code == CURLE_OK {
            return .response(status: (200..<300).contains(reply) ? reply : 250, body: [], retryAfter: nil)
        }
        if code == CURLE_LOGIN_DENIED { return .failure(.loginDenied) }
        if (400..<600).contains(reply) { return .response(status: reply, body: [], retryAfter: nil) }
        return .failure(failure(code))
    }

    static func failure(_ code: CURLcode) -> TransportFailure {
        let text = curl_easy_strerror(code).map { String(cString: $0) } ?? "error"
        let detail = "\(text) (curl \(code.rawValue))"
        switch code {
        case CURLE_OPERATION_TIMEDOUT: return .timeout
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL: return .badURL
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
            CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
            CURLE_SSL_INVALIDCERTSTATUS, CURLE_USE_SSL_FAILED:
            return .tls(detail: detail)
        default: return .connection(detail: detail)
        }
    }

    private func cleanup() {
        // Work that raced in after the stop was handled.
        let (late, waiters) = shared.withLock { s in
            s.finished = true
            defer {
                s.inbox.removeAll()
                s.stopWaiters.removeAll()
            }
            return (s.inbox, s.stopWaiters)
        }
        for (easy, wire) in inFlight {
            curl_multi_remove_handle(multi, easy)
            if let l = wire.headerList { curl_slist_free_all(l) }
            curl_easy_cleanup(easy)
        }
        inFlight.removeAll()
        for h in idleHandles { curl_easy_cleanup(h) }
        idleHandles.removeAll()
        curl_multi_cleanup(multi)
        curl_slist_free_all(slackHeaders)
        let wall = settings.wallClock.now()
        for t in late { t.completion(.retryLater(.shuttingDown, notBefore: wall)) }
        for w in waiters { w.resume() }
    }
}

/// A transfer on the wire: the answer read so far, its Retry-After and its header list, filled
/// by libcurl's callbacks. Created, used and freed on the engine thread only (never Sendable).
final class WireTransfer {
    let transfer: Transfer
    let startedAt: UInt64
    /// Bytes of the answer kept.
    let responseRoom: Int
    /// The header list of an HTTP post, or the recipient list (`CURLOPT_MAIL_RCPT`) of an email.
    var headerList: UnsafeMutablePointer<curl_slist>?
    /// An email (SMTP upload): its handle is cleaned up after it, never pooled.
    var isSMTP = false
    /// Bytes of the body handed to libcurl's read callback so far (emails).
    var uploaded = 0
    var response: [UInt8] = []
    var retryAfter: String?

    init(_ transfer: Transfer, startedAt: UInt64) {
        self.transfer = transfer
        self.startedAt = startedAt
        self.responseRoom = transfer.responseRoom
    }
}
