import Foundation
import Kafka
import Logging
import MetricsTestKit
import Stages
import Synchronization
import Testing
import WorkerRuntime

/// The count and the log of misrouted events: every one counted by reason and outcome, one log
/// line per partition and reason.
@Suite struct MisroutedEventMetricsTests {
    final class Lines: Sendable {
        let lines = Mutex<[String]>([])
    }

    struct CapturingHandler: LogHandler {
        let sink: Lines
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let fields = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            let text = "\(event.message) \(fields.joined(separator: " "))"
            sink.lines.withLock { $0.append(text) }
        }
    }

    @Test func countedByReasonAndOutcomeAndLoggedOncePerPartitionAndReason() throws {
        let metrics = TestMetrics()
        let sink = Lines()
        let logger = Logger(label: "test") { _ in CapturingHandler(sink: sink) }
        let processor = ScorerProcessor(scoresTopic: "health-scores", live: false)
        processor.misroutedEvents = MisroutedEvents(factory: metrics, logger: logger)
        let harness = ProcessorHarness(processor: processor, partition: 1)
        typealias E = MisroutedEventTests
        typealias Outcome = ProcessorHarness<ScorerProcessor>.Outcome
        func send(_ id: String, key: String?, headers: [KafkaHeader] = []) -> Outcome {
            let value = E.json(id, account: "acme", at: E.start)
            return harness.process(E.record(value, key: key, headers: headers), now: E.start + 60_000)
        }
        for k in 0..<3 { _ = send("m\(k)", key: "T-\(k)") }
        for k in 0..<2 { _ = send("n\(k)", key: nil) }
        let mark = KafkaHeader(name: MisroutedEvents.repartitionedFromHeader, text: "account-events[0]@7")
        let loop = send("l", key: "T-1", headers: [mark])
        if case .emitted = loop { Issue.record("a mis-keyed copy was re-published again") }
        _ = send("ok", key: "acme")

        func count(_ reason: String, _ outcome: String) throws -> Int64 {
            let dimensions = [("reason", reason), ("outcome", outcome)]
            return try metrics.expectCounter("fleet_scorer_misrouted_events_total", dimensions).totalValue
        }
        #expect(try count("mismatched_key", "republished") == 3)
        #expect(try count("missing_key", "republished") == 2)
        #expect(try count("mismatched_key", "dead_lettered") == 1)
        #expect(try count("missing_key", "dead_lettered") == 0)
        let lines = sink.lines.withLock { $0 }
        #expect(lines.count == 3, "one line per partition, reason and outcome:\n\(lines.joined(separator: "\n"))")
        #expect(lines.allSatisfy { $0.contains("partition=1") && $0.contains("account_id=acme") })
        #expect(lines.contains { $0.contains("reason=missing_key") && $0.contains("key=none") })
    }
}
