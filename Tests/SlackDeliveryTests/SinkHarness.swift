import Contracts
import Logging
import SlackSink

@testable import SlackDelivery

/// A running sink plus a deliverer whose destinations point at it.
struct SinkHarness {
    let sink: SlackSink
    let deliverer: SlackDeliverer
    let paths: [String: String]

    /// Destination `name` posts to `/services/T000/<name>/token-<name>` on the sink.
    static func start(
        _ names: [String], rate: RateLimit = RateLimit(perSecond: 100, burst: 100),
        settings: EngineSettings = fastSettings(),
        kinds: [String: Destination.Kind] = [:], secrets: [String: SigningSecret] = [:],
        logger: Logger = SinkHarness.quietLogger
    ) async throws -> SinkHarness {
        let sink = SlackSink()
        try await sink.start()
        var paths: [String: String] = [:]
        var destinations: [Destination] = []
        for n in names {
            let path = "/services/T000/\(n)/token-\(n)"
            paths[n] = path
            destinations.append(
                try Destination(
                    name: n, kind: kinds[n] ?? .slack, url: sink.url(path: path), allowInsecureHTTP: true,
                    rateLimit: rate, signingSecret: secrets[n]))
        }
        let deliverer = try SlackDeliverer(destinations: destinations, settings: settings, logger: logger)
        return SinkHarness(sink: sink, deliverer: deliverer, paths: paths)
    }

    /// Errors only: the delivery outcomes are asserted, not read from the console.
    static var quietLogger: Logger {
        var l = Logger(label: "test")
        l.logLevel = .error
        return l
    }

    static func fastSettings(timeoutMs: Int = 5_000) -> EngineSettings {
        var s = EngineSettings()
        s.totalTimeoutMilliseconds = timeoutMs
        s.connectTimeoutMilliseconds = 2_000
        return s
    }

    func path(_ name: String) -> String { paths[name]! }

    func stop() async {
        await deliverer.shutdown()
        await sink.stop()
    }
}
