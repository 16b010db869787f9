import Contracts
import Foundation
import HealthModel
import Kafka
import TestSupport
import Testing

/// Issue 23: one `ServiceGroup` per executable. SIGTERM to the scorer and to the evaluator (real
/// processes on the mock broker): each drains, flushes its state, commits what it read, stops the
/// worker before its health listener, and exits 0.
@Suite(.serialized) struct StageShutdownProcessTests {
    /// The sum of a counter over its label sets in a `/metrics` page.
    static func counter(_ name: String, in page: String) -> Int {
        page.split(separator: "\n").filter { $0.hasPrefix(name + "{") || $0.hasPrefix(name + " ") }.reduce(0) {
            $0 + (Int(Double($1.split(separator: " ").last ?? "") ?? 0))
        }
    }

    /// Waits until the stage's `fleet_records_consumed_total` reaches `count` (checking every 50 ms,
    /// up to `timeout`); false after it, or once the process has exited.
    static func waitConsumed(_ stage: StageProcess, port: Int, count: Int, timeout: Duration) async -> Bool {
        var consumed = false
        _ = try? await BoundedWait.until(timeout) {
            guard stage.process.isRunning else { return true }
            let page = try? await HTTPGet.body(port: port, path: "/metrics")
            consumed = page.map { counter("fleet_records_consumed_total", in: $0) >= count } ?? false
            return consumed
        }
        return consumed
    }

    /// The log says the worker stopped before the health listener, and both did.
    static func stoppedInOrder(_ log: String) -> Bool {
        guard let worker = log.range(of: "worker stopped"), let health = log.range(of: "health listener stopped")
        else { return false }
        return worker.lowerBound < health.lowerBound
    }

    @Test func aSigtermToTheScorerAndTheEvaluatorCommitsWhatTheyReadAndExitsZero() async throws {
        let names = ["customer-health", "cs-escalations", "revenue-signals", "billing-alerts"]
        let fleet = try await FleetHarness(destinations: names)
        // State is flushed, and offsets stored, once a minute: what is committed before that can
        // only come from the shutdown.
        let env = fleet.env(["COMMIT_INTERVAL_MS": "60000"])
        let scorer = try StageProcess("ingest-scorer", env: env)
        defer { scorer.stopWithoutWaiting() }
        let evaluator = try StageProcess("evaluator", env: env)
        defer { evaluator.stopWithoutWaiting() }
        let scorerPort = try #require(
            await scorer.httpPort(timeout: .seconds(30)), "scorer:\n\(scorer.log.suffix(2000))")
        let evaluatorPort = try #require(
            await evaluator.httpPort(timeout: .seconds(30)), "evaluator:\n\(evaluator.log.suffix(2000))")

        let generator = SampleGenerator(options: .init(seed: 11, accounts: 6, days: 8))
        let parser = EventParser()
        let producer = try fleet.producer()
        var events = 0
        func send(days: Range<Int>) async throws {
            for day in days {
                for line in generator.lines(forDay: day) {
                    let key = (try? parser.parse(line).accountId) ?? "unkeyed"
                    try producer.send(OutgoingRecord(topic: fleet.prefix + "account-events", key: key, value: line)) {
                        _ in
                    }
                    events += 1
                }
            }
            try await producer.flush()
        }
        try await send(days: 0..<5)
        var scored = await Self.waitConsumed(scorer, port: scorerPort, count: events, timeout: .seconds(45))
        #expect(scored, "the scorer did not read the \(events) events:\n\(scorer.log.suffix(2000))")
        // What the shutdown must commit: records read since the last periodic commit (every 60 s).
        // On a loaded machine that commit may have come after the whole feed was read: then one
        // more day is sent and read, well within the next minute.
        var lag = try fleet.lag(group: "ingest-scorer", topic: "account-events", partitions: 12)
        for day in 5..<8 where lag == 0 && scored {
            try await send(days: day..<(day + 1))
            scored = await Self.waitConsumed(scorer, port: scorerPort, count: events, timeout: .seconds(45))
            lag = try fleet.lag(group: "ingest-scorer", topic: "account-events", partitions: 12)
        }
        await producer.shutdown()
        #expect(scored, "the scorer did not read the \(events) events:\n\(scorer.log.suffix(2000))")
        #expect(lag > 0, "offsets were committed before the shutdown, three times; the test proves nothing")
        let scorerStatus = await scorer.stop()
        #expect(scorerStatus == 0, "scorer exit status \(scorerStatus):\n\(scorer.log.suffix(3000))")
        #expect(Self.stoppedInOrder(scorer.log), "scorer:\n\(scorer.log.suffix(3000))")
        let scorerLag = try fleet.lag(group: "ingest-scorer", topic: "account-events", partitions: 12)
        #expect(scorerLag == 0, "\(scorerLag) events not committed at exit:\n\(scorer.log.suffix(3000))")

        // The scorer has stopped: its scores are all written.
        let scores = try fleet.size("health-scores", partitions: 12)
        #expect(scores > 0, "the scorer wrote no score")
        let evaluated = await Self.waitConsumed(evaluator, port: evaluatorPort, count: scores, timeout: .seconds(45))
        #expect(evaluated, "the evaluator did not read the \(scores) scores:\n\(evaluator.log.suffix(2000))")
        let evaluatorStatus = await evaluator.stop()
        #expect(evaluatorStatus == 0, "evaluator exit status \(evaluatorStatus):\n\(evaluator.log.suffix(3000))")
        #expect(Self.stoppedInOrder(evaluator.log), "evaluator:\n\(evaluator.log.suffix(3000))")
        let evaluatorLag = try fleet.lag(group: "evaluator", topic: "health-scores", partitions: 12)
        #expect(evaluatorLag == 0, "\(evaluatorLag) scores not committed at exit:\n\(evaluator.log.suffix(3000))")
        await fleet.shutdown()
    }
}
