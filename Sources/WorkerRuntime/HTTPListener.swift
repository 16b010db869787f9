import Logging
import Metrics
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// The limits of one HTTP listener, which hold whatever a client does (issue 22: 300 idle TCP
/// connections were held forever, until the process ran out of file descriptors).
///
/// - `HTTP_IDLE_TIMEOUT_MS` (10000): a connection that sends nothing for this long while its
///   request is unfinished is closed.
/// - `HTTP_REQUEST_TIMEOUT_MS` (15000): the whole request (head and body) must arrive within this
///   long of the accept, else the connection is closed (a client trickling bytes under the idle
///   timeout).
/// - `HTTP_MAX_CONNECTIONS` (128): open connections per listener; one more is closed at once.
/// - `HTTP_MAX_HEADER_BYTES` (16384): request line and headers; larger: 431.
/// - `HTTP_MAX_BODY_BYTES` (16384): request body; larger: 413.
///
/// Every answer closes its connection (`connection: close`), so a connection is never idle
/// between requests: the idle timeout bounds a client that connects and says nothing.
public struct HTTPLimits: Sendable, Equatable {
    /// No byte from the client for this long while the request is unfinished: closed.
    public var idleTimeout: Duration
    /// The whole request must have arrived within this long of the accept: else closed.
    public var requestTimeout: Duration
    /// Open connections at most; one more is closed at once.
    public var maxConnections: Int
    /// Largest request line and headers (bytes); larger: 431.
    public var maxHeaderBytes: Int
    /// Largest body (bytes); larger: 413.
    public var maxBodyBytes: Int

    /// Limits from their parts (the defaults are the documented ones).
    public init(
        idleTimeout: Duration = .seconds(10), requestTimeout: Duration = .seconds(15), maxConnections: Int = 128,
        maxHeaderBytes: Int = 16384, maxBodyBytes: Int = 16384
    ) {
        self.idleTimeout = idleTimeout
        self.requestTimeout = requestTimeout
        self.maxConnections = maxConnections
        self.maxHeaderBytes = maxHeaderBytes
        self.maxBodyBytes = maxBodyBytes
    }

    /// Bytes one connection may send in all before it is closed unanswered: the head and body
    /// limits plus room for the request line and chunk framing.
    var maxRequestBytes: Int { maxHeaderBytes.addingClamped(maxBodyBytes).addingClamped(8192) }
}

/// What one listener refused or closed since it started, by reason (also exported as metrics).
public struct HTTPListenerCounts: Sendable, Equatable {
    /// Connections open now.
    public var open: Int
    /// Connections closed at once because `maxConnections` were open.
    public var refused: Int
    /// Connections closed by the idle timeout.
    public var timedOutIdle: Int
    /// Connections closed by the request timeout.
    public var timedOutRequest: Int
    /// Requests refused for their size (431, 413, or closed unanswered past `maxRequestBytes`).
    public var tooLarge: Int
}

/// One HTTP/1.1 listener on SwiftNIO, on an event loop of its own (never a worker thread, never
/// the cooperative pool): serves its `routes`, 404 for any other path. Each connection carries
/// one request and is closed after its answer. The listener holds its `HTTPLimits` with NIO's
/// facilities: an `IdleStateHandler` for the idle timeout, a task scheduled on the connection's
/// loop for the request timeout, a count of open connections checked as each is accepted, the
/// decoder's header limit and a count of body and raw bytes.
///
/// Metrics (label `listener`): `fleet_http_connections_refused_total`,
/// `fleet_http_connections_timed_out_total{timeout="idle|request"}`,
/// `fleet_http_requests_too_large_total`, and the gauge `fleet_http_connections_open`.
public final class HTTPListener: Sendable {
    /// The listener's name in logs and metrics (`health`, `feedback`).
    public let name: String
    /// The port bound (useful with port 0).
    public let port: Int
    /// The limits it holds.
    public let limits: HTTPLimits
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    private let tally: HTTPListenerTally

    /// Binds `host:port` (port 0: a free one) and serves `routes` within `limits`.
    public init(name: String, host: String, port: Int, limits: HTTPLimits = HTTPLimits(), routes: [HTTPRoute])
        async throws
    {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let tally = HTTPListenerTally(listener: name)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                // Counted as it is accepted: beyond the cap the connection is closed at once
                // (the failed initializer closes it), before it costs more than its descriptor.
                guard tally.open(max: limits.maxConnections) else {
                    return channel.eventLoop.makeFailedFuture(HTTPConnectionRefused())
                }
                channel.closeFuture.whenComplete { _ in tally.closed() }
                return channel.eventLoop.makeCompletedFuture {
                    try HTTPConnection.configure(
                        channel.pipeline.syncOperations, limits: limits, tally: tally, routes: routes)
                }
            }
        do {
            self.channel = try await bootstrap.bind(host: host, port: port).get()
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        self.name = name
        self.limits = limits
        self.group = group
        self.tally = tally
        self.port = channel.localAddress?.port ?? port
    }

    /// What the listener refused or closed so far.
    public var counts: HTTPListenerCounts { tally.counts }

    /// Stops listening, closes the open connections and ends the event loop.
    public func shutdown() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}

/// The failure that closes a connection over the cap.
struct HTTPConnectionRefused: Error {}

/// The counts of one listener, shared by its connections (any event loop).
final class HTTPListenerTally: Sendable {
    let listener: String
    private let openNow = Atomic<Int>(0)
    private let refused = Atomic<Int>(0)
    private let timedOutIdle = Atomic<Int>(0)
    private let timedOutRequest = Atomic<Int>(0)
    private let tooLarge = Atomic<Int>(0)

    init(listener: String) { self.listener = listener }

    /// Takes a place for a new connection; false (counted) when `max` are open.
    func open(max: Int) -> Bool {
        var current = openNow.load(ordering: .relaxed)
        while current < max {
            let (exchanged, original) = openNow.compareExchange(
                expected: current, desired: current + 1, ordering: .relaxed)
            if exchanged {
                Gauge(label: "fleet_http_connections_open", dimensions: [("listener", listener)]).record(current + 1)
                return true
            }
            current = original
        }
        refused.add(1, ordering: .relaxed)
        Counter(label: "fleet_http_connections_refused_total", dimensions: [("listener", listener)]).increment()
        return false
    }

    /// Gives a connection's place back.
    func closed() {
        let now = openNow.subtract(1, ordering: .relaxed).newValue
        Gauge(label: "fleet_http_connections_open", dimensions: [("listener", listener)]).record(now)
    }

    enum Timeout: String { case idle, request }

    func timedOut(_ timeout: Timeout) {
        if timeout == .idle {
            timedOutIdle.add(1, ordering: .relaxed)
        } else {
            timedOutRequest.add(1, ordering: .relaxed)
        }
        Counter(
            label: "fleet_http_connections_timed_out_total",
            dimensions: [("listener", listener), ("timeout", timeout.rawValue)]
        ).increment()
    }

    func refusedTooLarge() {
        tooLarge.add(1, ordering: .relaxed)
        Counter(label: "fleet_http_requests_too_large_total", dimensions: [("listener", listener)]).increment()
    }

    var counts: HTTPListenerCounts {
        HTTPListenerCounts(
            open: openNow.load(ordering: .relaxed), refused: refused.load(ordering: .relaxed),
            timedOutIdle: timedOutIdle.load(ordering: .relaxed),
            timedOutRequest: timedOutRequest.load(ordering: .relaxed),
            tooLarge: tooLarge.load(ordering: .relaxed))
    }
}

extension Duration {
    /// The duration as NIO's `TimeAmount` (nanoseconds, clamped).
    var timeAmount: TimeAmount {
        let (seconds, attoseconds) = components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return .nanoseconds(overflow ? Int64.max : whole.addingClamped(attoseconds / 1_000_000_000))
    }
}

extension Int {
    /// `self + other`, held at `Int.max`.
    fileprivate func addingClamped(_ other: Int) -> Int {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? Int.max : sum
    }
}

extension Int64 {
    /// `self + other`, held at the bounds.
    fileprivate func addingClamped(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? Int64.max : Int64.min) : sum
    }
}

/// A listener a stage serves beside its health listener (the dispatcher's feedback links), with
/// the worker's `HTTPLimits`.
public struct HTTPListenerSpec: Sendable {
    /// Its name in logs and metrics (`feedback`); the log line says `<name> listening` with the
    /// port under `<name>_port`.
    public var name: String
    /// Address to bind.
    public var host: String
    /// Port to bind; 0 picks a free one (logged).
    public var port: Int
    /// What it serves.
    public var routes: [HTTPRoute]
    /// Its own limits (a larger body for Slack's interaction requests); nil: the worker's `HTTP_*` limits.
    public var limits: HTTPLimits?

    /// A listener from its parts.
    public init(name: String, host: String, port: Int, routes: [HTTPRoute], limits: HTTPLimits? = nil) {
        self.name = name
        self.host = host
        self.port = port
        self.routes = routes
        self.limits = limits
    }
}
