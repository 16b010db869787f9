import Contracts
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A local HTTP server that answers like Slack's incoming webhooks and, under `/api/`, like the
/// Slack Web API's `chat.postMessage` and `conversations.history` (see `SinkWebAPI`), for tests,
/// the benchmark and the demo. Every other path is a webhook; each answers `ok` unless scripted otherwise (429 with
/// Retry-After, 400 invalid_blocks, 404 no_service, 410 channel_is_archived, 500, delays, no
/// answer at all). Every request is recorded with its arrival time.
///
/// ```swift
/// let sink = SlackSink()
/// let port = try await sink.start()
/// sink.script(path: "/services/T/B/x", [.rateLimited(retryAfterSeconds: 1), .ok])
/// ...
/// await sink.stop()
/// ```
public final class SlackSink: Sendable {
    private let state: SinkState
    private let group: MultiThreadedEventLoopGroup
    private let box = ChannelBox()

    private final class ChannelBox: Sendable {
        private let bound = Mutex<(channel: Channel?, port: Int)>((nil, 0))

        func set(_ c: Channel, port p: Int) {
            bound.withLock { $0 = (c, p) }
        }

        func take() -> Channel? {
            bound.withLock { b in
                defer { b.channel = nil }
                return b.channel
            }
        }

        var boundPort: Int { bound.withLock { $0.port } }
    }

    /// - Parameters:
    ///   - recordRequests: keep every request (turn off for long benchmark runs; arrival times
    ///     per path are always kept for the rate audit).
    ///   - recordBodies: keep request bodies in the records.
    ///   - onRequest: called on the event loop for each request (the demo prints them).
    ///   - clock: where the wall time of each request (and of the messages it stores) is read.
    public init(
        recordRequests: Bool = true, recordBodies: Bool = true, onRequest: (@Sendable (ReceivedRequest) -> Void)? = nil,
        clock: WallClock = .system
    ) {
        state = SinkState(
            recordRequests: recordRequests, recordBodies: recordBodies, onRequest: onRequest, clock: clock)
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    }

    /// Binds and starts serving; returns the port (pass 0 for any free port).
    @discardableResult
    public func start(host: String = "127.0.0.1", port: Int = 0) async throws -> Int {
        let state = self.state
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(SinkHTTPHandler(state: state))
                }
            }
            .bind(host: host, port: port).get()
        let bound = channel.localAddress?.port ?? port
        box.set(channel, port: bound)
        return bound
    }

    /// The bound port (0 before `start`).
    public var port: Int {
        box.boundPort
    }

    /// `http://127.0.0.1:<port><path>`.
    public func url(path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    /// Queues answers for `path`, used in order; after them the path's default applies.
    public func script(path: String, _ responses: [SinkResponse]) { state.script(path: path, responses) }

    /// The answer for `path` (or for every path when nil) once its script is used up.
    public func setDefault(_ response: SinkResponse, path: String? = nil) { state.setDefault(response, path: path) }

    /// Requests received, in arrival order (all, or one path's).
    public func requests(path: String? = nil) -> [ReceivedRequest] { state.requests(path: path) }

    /// How many TCP connections were accepted (few connections for many requests = keep-alive works).
    public var connectionCount: Int { state.connectionCount }

    /// How many requests arrived in all.
    public var requestCount: Int { state.requestCount }

    /// Waits until `count` requests arrived (on `path`, or in all); false after `timeoutSeconds`.
    public func waitForRequests(count: Int, path: String? = nil, timeoutSeconds: Double) async -> Bool {
        let state = self.state
        let loop = group.next()
        return await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
            if let id = state.addWaiter(count: count, path: path, c) {
                loop.scheduleTask(in: .milliseconds(Int64(timeoutSeconds * 1000))) { state.expireWaiter(id) }
            }
        }
    }

    /// Checks every path's arrivals against a token bucket.
    public func audit(perSecond: Double, burst: Int, toleranceMilliseconds: Double = 20) -> RateAudit.Report {
        state.audit(perSecond: perSecond, burst: burst, toleranceNanos: UInt64(toleranceMilliseconds * 1e6))
    }

    /// Messages posted through the Web API path (`POST .../chat.postMessage`), in posting order,
    /// with their channel, ts and metadata alert ids (what `conversations.history` answers from).
    public func storedMessages() -> [StoredMessage] { state.storedMessages }

    /// The bot token `chat.postMessage` and `conversations.history` accept (`invalid_auth` for
    /// another); nil (the default) accepts any `Bearer` token.
    public func expectBotToken(_ token: String?) { state.setExpectedToken(token) }

    /// Closes the server and its event loop.
    public func stop() async {
        let channel = box.take()
        state.expireAll()
        try? await channel?.close()
        try? await group.shutdownGracefully()
    }
}
