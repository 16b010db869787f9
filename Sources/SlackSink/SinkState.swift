import Contracts
import Foundation

/// The sink's shared state: scripts, recorded requests, arrival times per path, and waiters.
/// Touched from the NIO event loop and from callers, under one lock.
// @unchecked: every mutable field is read and written under `lock` only.
final class SinkState: @unchecked Sendable {
    /// Where the wall time of each request is read.
    let clock: WallClock
    let recordRequests: Bool
    let recordBodies: Bool
    let onRequest: (@Sendable (ReceivedRequest) -> Void)?

    private let lock = NSLock()
    private var scripts: [String: [SinkResponse]] = [:]
    private var defaults: [String: SinkResponse] = [:]
    private var fallback: SinkResponse = .ok
    private var records: [ReceivedRequest] = []
    private var arrivals: [String: [UInt64]] = [:]
    private var total = 0
    private var waiters: [Int: Waiter] = [:]
    private var nextWaiterId = 0
    private var connections = 0
    private var webAPI = SinkWebAPI()

    /// A new connection's id (1, 2, ...).
    func newConnection() -> Int {
        lock.lock()
        defer { lock.unlock() }
        connections += 1
        return connections
    }

    /// Connections accepted so far.
    var connectionCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return connections
    }

    struct Waiter {
        var count: Int
        var path: String?
        var continuation: CheckedContinuation<Bool, Never>
    }

    init(
        recordRequests: Bool, recordBodies: Bool, onRequest: (@Sendable (ReceivedRequest) -> Void)?, clock: WallClock
    ) {
        self.clock = clock
        self.recordRequests = recordRequests
        self.recordBodies = recordBodies
        self.onRequest = onRequest
    }

    func script(path: String, _ responses: [SinkResponse]) {
        lock.lock()
        defer { lock.unlock() }
        scripts[path, default: []] += responses
    }

    func setDefault(_ response: SinkResponse, path: String?) {
        lock.lock()
        defer { lock.unlock() }
        if let path { defaults[path] = response } else { fallback = response }
    }

    /// Records a request and returns the answer scripted for its path.
    func record(
        method: String, path: String, query: String = "", headers: [String: String], body: [UInt8], bodyLength: Int,
        connectionId: Int
    ) -> SinkResponse {
        let now = Self.monotonicNanos()
        let wall = clock.milliseconds()
        lock.lock()
        let response: SinkResponse
        if var list = scripts[path], !list.isEmpty {
            response = list.removeFirst()
            scripts[path] = list
        } else {
            response = defaults[path] ?? fallback
        }
        // On the Web API, `ok` (also after a delay) is answered from what the sink stores: a
        // delayed `chat.postMessage` is in the channel at once, its answer comes later.
        func webAnswer(_ response: SinkResponse) -> SinkResponse {
            switch response {
            case .delayed(let ms, let then): .delayed(milliseconds: ms, then: webAnswer(then))
            case .ok where SinkWebAPI.isPostMessage(path):
                webAPI.postMessage(headers: headers, body: body, wallMilliseconds: wall)
            case .ok where SinkWebAPI.isHistory(path): webAPI.history(headers: headers, query: query)
            case .ok where SinkWebAPI.isUpdate(path): webAPI.update(headers: headers, body: body)
            default: response
            }
        }
        let answer = webAnswer(response)
        let request = ReceivedRequest(
            method: method, path: path, headers: headers, body: recordBodies ? body : [], bodyLength: bodyLength,
            arrivalNanos: now, arrivalWallMilliseconds: wall, connectionId: connectionId, response: answer)
        if recordRequests { records.append(request) }
        arrivals[path, default: []].append(now)
        total += 1
        var ready: [CheckedContinuation<Bool, Never>] = []
        for (id, w) in waiters where satisfied(w) {
            ready.append(w.continuation)
            waiters[id] = nil
        }
        lock.unlock()
        for c in ready { c.resume(returning: true) }
        onRequest?(request)
        return answer
    }

    /// Messages stored by `chat.postMessage`, in posting order.
    var storedMessages: [StoredMessage] {
        lock.lock()
        defer { lock.unlock() }
        return webAPI.messages
    }

    func setExpectedToken(_ token: String?) {
        lock.lock()
        defer { lock.unlock() }
        webAPI.expectedToken = token
    }

    private func satisfied(_ w: Waiter) -> Bool {
        if let p = w.path { return (arrivals[p]?.count ?? 0) >= w.count }
        return total >= w.count
    }

    func requests(path: String?) -> [ReceivedRequest] {
        lock.lock()
        defer { lock.unlock() }
        guard let path else { return records }
        return records.filter { $0.path == path }
    }

    var requestCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return total
    }

    /// Registers a waiter; returns its id, or nil when already satisfied.
    func addWaiter(count: Int, path: String?, _ c: CheckedContinuation<Bool, Never>) -> Int? {
        lock.lock()
        let w = Waiter(count: count, path: path, continuation: c)
        if satisfied(w) {
            lock.unlock()
            c.resume(returning: true)
            return nil
        }
        nextWaiterId += 1
        let id = nextWaiterId
        waiters[id] = w
        lock.unlock()
        return id
    }

    func expireWaiter(_ id: Int) {
        lock.lock()
        let w = waiters.removeValue(forKey: id)
        lock.unlock()
        w?.continuation.resume(returning: false)
    }

    func expireAll() {
        lock.lock()
        let all = waiters.values
        waiters.removeAll()
        lock.unlock()
        for w in all { w.continuation.resume(returning: false) }
    }

    func audit(perSecond: Double, burst: Int, toleranceNanos: UInt64) -> RateAudit.Report {
        lock.lock()
        let snapshot = arrivals
        let count = total
        lock.unlock()
        var violations = 0
        var over = 0
        for (_, times) in snapshot {
            let v = RateAudit.violations(
                arrivals: times, perSecond: perSecond, burst: burst, toleranceNanos: toleranceNanos)
            violations += v
            if v > 0 { over += 1 }
        }
        return RateAudit.Report(requests: count, paths: snapshot.count, violations: violations, pathsOverLimit: over)
    }

    static func monotonicNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
