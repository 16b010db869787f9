/// The worker's health listener: `/healthz` (alive), `/readyz` (assigned and restored),
/// `/metrics` (Prometheus text), and any extra `HTTPRoute`, within `HTTPLimits`. Runs on its own
/// NIO event loop, never the worker thread. The dispatcher's `/feedback` has a listener of its
/// own (`FEEDBACK_PORT`), so that a flood of feedback clicks or idle connections never reaches
/// the probes (issue 22).
public final class HealthServer: Sendable {
    public typealias StatusProvider = @Sendable () -> WorkerStatus
    public typealias MetricsProvider = @Sendable () -> String

    private let listener: HTTPListener

    /// The port bound (useful with port 0).
    public var port: Int { listener.port }

    /// What the listener refused or closed so far.
    public var counts: HTTPListenerCounts { listener.counts }

    /// Binds `host:port` (port 0: a free one) and serves health, metrics and `routes`.
    public init(
        host: String, port: Int, status: @escaping StatusProvider, metrics: @escaping MetricsProvider,
        routes: [HTTPRoute] = [], limits: HTTPLimits = HTTPLimits()
    ) async throws {
        listener = try await HTTPListener(
            name: "health", host: host, port: port, limits: limits,
            routes: routes + Self.routes(status: status, metrics: metrics))
    }

    /// `/healthz`, `/readyz` and `/metrics`: GET and HEAD only.
    static func routes(status: @escaping StatusProvider, metrics: @escaping MetricsProvider) -> [HTTPRoute] {
        func probe(_ path: String, _ answer: @escaping @Sendable () -> HTTPReply) -> HTTPRoute {
            HTTPRoute(path: path) { request, reply in
                guard request.method == "GET" || request.method == "HEAD" else {
                    reply(.methodNotAllowed(["GET", "HEAD"]))
                    return
                }
                reply(answer())
            }
        }
        return [
            probe("/healthz") {
                let s = status()
                return HTTPReply(
                    status: s.live ? 200 : 503, contentType: "text/plain",
                    body: s.live ? "ok\n" : "unhealthy: \(s.detail)\n")
            },
            probe("/readyz") {
                let s = status()
                return HTTPReply(
                    status: s.ready ? 200 : 503, contentType: "text/plain",
                    body: s.ready ? "ready: \(s.detail)\n" : "not ready: \(s.detail)\n")
            },
            probe("/metrics") { HTTPReply(status: 200, contentType: "text/plain; version=0.0.4", body: metrics()) },
        ]
    }

    /// Stops listening and ends the event loop.
    public func shutdown() async {
        await listener.shutdown()
    }
}
