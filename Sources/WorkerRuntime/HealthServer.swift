import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// The small HTTP surface of a worker: `/healthz` (alive), `/readyz` (assigned and restored),
/// `/metrics` (Prometheus text), and any extra `HTTPRoute` of the stage (the dispatcher's
/// `/feedback`). Runs on its own NIO event loop, never the worker thread.
public final class HealthServer: Sendable {
    public typealias StatusProvider = @Sendable () -> WorkerStatus
    public typealias MetricsProvider = @Sendable () -> String

    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    /// The port bound (useful with port 0).
    public let port: Int

    /// Binds `host:port` (port 0: a free one) and serves health, metrics and `routes`.
    public init(host: String, port: Int, status: @escaping StatusProvider, metrics: @escaping MetricsProvider, routes: [HTTPRoute] = []) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(HealthHandler(status: status, metrics: metrics, routes: routes))
                }
            }
        do {
            self.channel = try await bootstrap.bind(host: host, port: port).get()
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        self.group = group
        self.port = channel.localAddress?.port ?? port
    }

    /// Stops listening and ends the event loop.
    public func shutdown() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}

private final class HealthHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let status: HealthServer.StatusProvider
    let metrics: HealthServer.MetricsProvider
    let routes: [HTTPRoute]

    init(status: @escaping HealthServer.StatusProvider, metrics: @escaping HealthServer.MetricsProvider, routes: [HTTPRoute]) {
        self.status = status
        self.metrics = metrics
        self.routes = routes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let head) = unwrapInboundIn(data) else { return }
        let parts = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = parts.first.map(String.init) ?? head.uri
        if let route = routes.first(where: { $0.matches(path) }) {
            let query = parts.count > 1 ? String(parts[1]) : ""
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            let loop = context.eventLoop
            let version = head.version
            route.handle(head.method.rawValue, query) { reply in
                loop.execute {
                    var headers = HTTPHeaders()
                    headers.add(name: "cache-control", value: "no-store")
                    headers.add(name: "referrer-policy", value: "no-referrer")
                    headers.add(name: "x-content-type-options", value: "nosniff")
                    Self.respond(bound.value, version: version, status: HTTPResponseStatus(statusCode: reply.status),
                                 type: reply.contentType, body: reply.body, extra: headers)
                }
            }
            return
        }
        let (code, body, type): (HTTPResponseStatus, String, String)
        switch path {
        case "/healthz":
            let s = status()
            (code, body, type) = (s.live ? .ok : .serviceUnavailable, s.live ? "ok\n" : "unhealthy: \(s.detail)\n", "text/plain")
        case "/readyz":
            let s = status()
            (code, body, type) = (s.ready ? .ok : .serviceUnavailable, s.ready ? "ready: \(s.detail)\n" : "not ready: \(s.detail)\n", "text/plain")
        case "/metrics":
            (code, body, type) = (.ok, metrics(), "text/plain; version=0.0.4")
        default:
            (code, body, type) = (.notFound, "not found\n", "text/plain")
        }
        Self.respond(context, version: head.version, status: code, type: type, body: body, extra: HTTPHeaders())
    }

    /// Writes one whole response and closes the connection (on the channel's event loop).
    static func respond(_ context: ChannelHandlerContext, version: HTTPVersion, status: HTTPResponseStatus, type: String, body: String, extra: HTTPHeaders) {
        var headers = extra
        headers.add(name: "content-type", value: type)
        headers.add(name: "content-length", value: String(body.utf8.count))
        headers.add(name: "connection", value: "close")
        context.write(NIOAny(HTTPServerResponsePart.head(HTTPResponseHead(version: version, status: status, headers: headers))), promise: nil)
        context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil))).whenComplete { _ in bound.value.close(promise: nil) }
    }
}
