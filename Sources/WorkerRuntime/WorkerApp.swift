import Foundation
import Kafka
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import Synchronization

/// Process-wide setup shared by the executables: JSON-line logs, Prometheus metrics, the HTTP
/// surface, and a service group that stops the worker gracefully on SIGTERM and SIGINT.
public enum WorkerApp {
    /// The Prometheus registry behind `/metrics`.
    public static let registry = PrometheusCollectorRegistry()

    /// Bootstraps logging and metrics once per process.
    public static func bootstrap(settings: WorkerSettings) -> Logger {
        let level = Logger.Level(rawValue: settings.logLevel) ?? .info
        let json = settings.logFormat == "json"
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler =
                json ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let factory = CataloguedMetricsFactory(registry: registry)
        MetricsSystem.bootstrap(factory)
        factory.recordBuildInfo()
        var logger = Logger(label: settings.stage)
        logger[metadataKey: "stage"] = "\(settings.stage)"
        return logger
    }

    /// Runs a worker with its HTTP surface until SIGTERM/SIGINT, as one swift-service-lifecycle
    /// `ServiceGroup`: first `dependencies` (what the worker needs until it has stopped: the
    /// dispatcher's feedback ledger, its Slack deliverer), then the health listener (`/healthz`,
    /// `/readyz`, `/metrics` and the stage's own `routes`), then the worker, then each of
    /// `listeners` on its own port. The listeners are bound before the group runs (a port in use
    /// stops the process at start). On SIGTERM the group stops them in the reverse order, each
    /// after the one started after it has finished: the extra listeners (no new clicks), the worker
    /// (stop fetching, finish in-flight work, commit, leave the group), the health listener, then
    /// the dependencies. Every listener holds `settings.httpLimits`.
    /// Throws if the worker stopped on an error (the process should exit non-zero).
    public static func run<P: RecordProcessor>(
        _ worker: Worker<P>, settings: WorkerSettings, logger: Logger,
        routes: [HTTPRoute] = [], listeners: [HTTPListenerSpec] = [],
        dependencies: [StopOnShutdownService] = []
    ) async throws {
        var bound: [StopOnShutdownService] = []
        do {
            let metrics: HealthServer.MetricsProvider = {
                var buffer = [UInt8]()
                registry.emit(into: &buffer)
                return String(decoding: buffer, as: UTF8.self)
            }
            let server = try await HealthServer(
                host: settings.httpHost, port: settings.httpPort, status: { worker.status },
                metrics: metrics, routes: routes, limits: settings.httpLimits)
            logger.info("http listening", metadata: ["port": "\(server.port)"])
            bound.append(StopOnShutdownService("health listener", logger: logger) { await server.shutdown() })
            for spec in listeners {
                let listener = try await HTTPListener(
                    name: spec.name, host: spec.host, port: spec.port,
                    limits: spec.limits ?? settings.httpLimits, routes: spec.routes)
                logger.info("\(spec.name) listening", metadata: ["\(spec.name)_port": "\(listener.port)"])
                bound.append(
                    StopOnShutdownService("\(spec.name) listener", logger: logger) {
                        await listener.shutdown()
                    })
            }
        } catch {
            for service in (dependencies + bound).reversed() { await service.stop() }
            throw error
        }
        func entry(_ service: any Service) -> ServiceGroupConfiguration.ServiceConfiguration {
            .init(
                service: service, successTerminationBehavior: .gracefullyShutdownGroup,
                failureTerminationBehavior: .gracefullyShutdownGroup)
        }
        let services = dependencies.map(entry) + [entry(bound[0]), entry(worker)] + bound.dropFirst().map(entry)
        let group = ServiceGroup(
            configuration: .init(
                services: services, gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }
}

/// A part of a process that has nothing to do while it runs but start, and is stopped in its turn
/// when its `ServiceGroup` shuts down gracefully (an HTTP listener, the Slack deliverer, the
/// feedback ledger): `run` calls `start` (if any), waits for the graceful shutdown (or a
/// cancellation), then calls `stop` once and logs `"<name> stopped"`.
public final class StopOnShutdownService: Service, Sendable, CustomStringConvertible {
    /// The name in logs.
    public let description: String
    private let logger: Logger
    private let startAction: (@Sendable () async -> Void)?
    private let stopAction: @Sendable () async -> Void
    private let stopped = Mutex(false)

    /// A service named `name` whose `start` runs when the group runs it (in the group's order), and
    /// whose `stop` runs once, at the group's graceful shutdown.
    public init(
        _ name: String, logger: Logger, start: (@Sendable () async -> Void)? = nil,
        stop: @escaping @Sendable () async -> Void
    ) {
        description = name
        self.logger = logger
        startAction = start
        stopAction = stop
    }

    public func run() async throws {
        if let startAction, !stopped.withLock({ $0 }) { await startAction() }
        try? await gracefulShutdown()
        await stop()
    }

    /// Stops it now (once; later calls return at once).
    public func stop() async {
        guard
            !stopped.withLock({ done in
                defer { done = true }
                return done
            })
        else { return }
        await stopAction()
        logger.info("\(description) stopped")
    }
}
