import Contracts
import Foundation
import SlackSink
import TestSupport
import Testing

@testable import SlackDelivery

@Suite("A webhook URL never appears in logs, errors or outcomes")
struct SecretHygieneTests {
    static let token = "XOXSECRETTOKEN0123456789"

    @Test("every log line, outcome and error of every path is free of the URL and its token path")
    func urlNeverLeaks() async throws {
        let sink = SlackSink()
        try await sink.start()
        let tokenPath = "/services/T0SECRET/B0SECRET/\(Self.token)"
        let refused = try RefusedPort()
        let deadPort = refused.port
        let env = [
            "HOOK_LIVE": sink.url(path: tokenPath),
            "HOOK_DEAD": "http://127.0.0.1:\(deadPort)\(tokenPath)",
            "HOOK_CRM": sink.url(path: tokenPath + "/crm"),
            "CRM_SECRET": "HMACSECRETVALUE",
        ]
        let yaml = """
            destinations:
              live:
                url: ${HOOK_LIVE}
                allow_insecure_http: true
              dead:
                url: ${HOOK_DEAD}
                allow_insecure_http: true
              crm:
                type: webhook
                url: ${HOOK_CRM}
                allow_insecure_http: true
                signing_secret: ${CRM_SECRET}
            """
        let file = try DestinationsFile.parse(yaml: yaml, file: "destinations.yaml", environment: env)
        let handler = RecordingLogHandler()
        var settings = EngineSettings()
        settings.totalTimeoutMilliseconds = 300
        settings.classifier = ResponseClassifier(defaultRetryAfterSeconds: 0, transientBackoffSeconds: 0)
        let deliverer = try SlackDeliverer(
            destinations: file.destinations, settings: settings, logger: handler.logger())
        sink.script(
            path: tokenPath,
            [
                .ok, .rateLimited(retryAfterSeconds: 0), .serverError, .invalidBlocks, .noService,
                .channelIsArchived, .forbidden, .noResponse, .custom(status: 401, body: tokenPath, headers: [:]),
            ])

        var texts: [String] = []
        for _ in 0..<9 {
            let o = await deliverer.submit(Fixtures.alert(.customerAtRisk, destination: "live"))
            texts += ["\(o)", o.code, String(reflecting: o)]
        }
        let dead = await deliverer.submit(Fixtures.alert(.customerAtRisk, destination: "dead"))
        #expect(dead.code == "connection_failed")
        texts += ["\(dead)", String(reflecting: dead)]
        withExtendedLifetime(refused) {}
        let crm = await deliverer.submit(Fixtures.alert(.customerAtRisk, destination: "crm"))
        texts += ["\(crm)"]
        await deliverer.shutdown()

        // The destinations themselves, printed and dumped.
        for d in file.destinations {
            texts += ["\(d)", String(reflecting: d), "\(d.url)", String(reflecting: d.url)]
            var dumped = ""
            dump(d, to: &dumped)
            texts.append(dumped)
        }
        // Config errors around the URL.
        for bad in [
            "destinations:\n  x:\n    url: http://h.example\(tokenPath)\n",
            "destinations:\n  x:\n    url: gopher://h.example\(tokenPath)\n",
            "destinations:\n  x:\n    url: https://h.example\(tokenPath)\n    burst: -1\n",
            "destinations:\n  x:\n    url: https://h.example\(tokenPath) x\n",
            "destinations:\n  x:\n    url: https://h.example\(tokenPath)\n  - broken\n",
        ] {
            do {
                _ = try DestinationsFile.parse(yaml: bad, file: "d.yaml", environment: [:])
                Issue.record("expected a config error")
            } catch {
                texts += ["\(error)", String(reflecting: error), error.localizedDescription]
            }
        }

        let logs = handler.recorded
        #expect(logs.count >= 8, "expected the failures to be logged, got \(logs)")
        #expect(logs.contains { $0.contains("destination=live") })
        for line in logs + texts {
            #expect(!line.contains(Self.token), "token leaked: \(line)")
            #expect(!line.contains("B0SECRET"), "token path leaked: \(line)")
            #expect(!line.contains("127.0.0.1:\(sink.port)"), "URL leaked: \(line)")
            #expect(!line.contains("HMACSECRETVALUE"), "signing secret leaked: \(line)")
        }
        await sink.stop()
    }
}
