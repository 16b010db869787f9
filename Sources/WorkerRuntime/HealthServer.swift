import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// The small HTTP surface of a worker: `/healthz` (alive), `/readyz` (assigned and restored),
/// `/metrics` (Prometheus text). Runs on its own NIO event loop, never the worker thread.
public final class HealthServer: Sendable {
    public typealias StatusProvider = @Sendable () -> WorkerStatus
    public typealias MetricsProvider = @Sendable () -> String

    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    /// The port bound (useful with port 0).
    public let port: Int

    public init(host: String, port: Int, status: @escaping StatusProvider, metrics: @escaping MetricsProvider) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(HealthHandler(status: status, metrics: metrics))
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

    init(status: @escaping HealthServer.StatusProvider, metrics: @escaping HealthServer.MetricsProvider) {
        self.status = status
        self.metrics = metrics
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let head) = unwrapInboundIn(data) else { return }
        let path = head.uri.split(separator: "?").first.map(String.init) ?? head.uri
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
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: type)
        headers.add(name: "content-length", value: String(body.utf8.count))
        headers.add(name: "connection", value: "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: code, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in bound.value.close(promise: nil) }
    }
}
