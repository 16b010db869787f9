import Foundation
import Kafka
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

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
            var handler: any LogHandler = json ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        var logger = Logger(label: settings.stage)
        logger[metadataKey: "stage"] = "\(settings.stage)"
        return logger
    }

    /// Runs a worker with its HTTP surface (health, metrics and the stage's own `routes`) until
    /// SIGTERM/SIGINT, then stops it gracefully.
    /// Throws if the worker stopped on an error (the process should exit non-zero).
    public static func run<P: RecordProcessor>(_ worker: Worker<P>, settings: WorkerSettings, logger: Logger, routes: [HTTPRoute] = []) async throws {
        let server = try await HealthServer(host: settings.httpHost, port: settings.httpPort, status: { worker.status }, metrics: {
            var buffer = [UInt8]()
            registry.emit(into: &buffer)
            return String(decoding: buffer, as: UTF8.self)
        }, routes: routes)
        logger.info("http listening", metadata: ["port": "\(server.port)"])
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: worker, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        do {
            try await group.run()
        } catch {
            await server.shutdown()
            throw error
        }
        await server.shutdown()
    }
}
