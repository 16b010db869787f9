import AlertRules
import Contracts
import Foundation
import HealthModel
import Kafka
import Stages
import Testing
import WorkerRuntime

/// Issue 22, row 7: a scorer pod whose wall clock runs ahead. Its live timer must not stamp score
/// records further ahead than the evaluator accepts (`future_event_time`), and a quiet partition
/// must still see silence. The clock is injected: the harness hands the processor its `now`, and the
/// records carry the Kafka timestamps their producers gave them.
@Suite struct ScorerClockTests {
    static let day: Int64 = 86_400_000
    static let hour: Int64 = 3_600_000
    /// The real time of the test: 2026-11-20T22:00:00Z.
    static let realNow: Int64 = 1_795_132_800_000 + 22 * hour
    static let skew: Int64 = 600_000

    static func event(_ id: String, account: String, at ms: Int64, producedAt: Int64?) -> ConsumedRecord {
        let json =
            #"{"event_id":"\#(id)","account_id":"\#(account)","type":"login","occurred_at":"\#(Timestamp(millisecondsSinceEpoch: ms).description)","user_id":"u-1","properties":{}}"#
        return ConsumedRecord(
            topic: "account-events", partition: 0, offset: 0, key: Array(account.utf8),
            value: Array(json.utf8), headers: [], timestamp: producedAt)
    }

    static func outputs(_ outcome: ProcessorHarness<ScorerProcessor>.Outcome) -> [OutgoingRecord] {
        if case .emitted(let records) = outcome { return records }
        return []
    }

    static func evaluator() throws -> ProcessorHarness<EvaluatorProcessor> {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("config/rules.yaml"), encoding: .utf8)
        let engine = RulesEngine(config: try RulesConfig.parse(yaml: text, file: "rules.yaml"))
        return ProcessorHarness(processor: EvaluatorProcessor(engine: engine, alertsTopic: "alerts"))
    }

    @Test func aScorerWithItsClockAheadStampsNothingTheEvaluatorRefuses() throws {
        let ahead = 3 * Self.day
        let scorer = ProcessorHarness(processor: ScorerProcessor(scoresTopic: "health-scores", live: true))
        var records: [OutgoingRecord] = []
        // Twenty days of history, produced just now by producers whose clocks are right.
        for d in (1...20).reversed() {
            for a in 0..<5 {
                let record = Self.event(
                    "e\(a)-\(d)", account: "acct-\(a)", at: Self.realNow - Int64(d) * Self.day,
                    producedAt: Self.realNow - 1_000)
                records += Self.outputs(scorer.process(record, now: Self.realNow + ahead))
            }
        }
        for minute in 0..<5 { records += scorer.tick(now: Self.realNow + ahead + Int64(minute) * 60_000) }
        #expect(!records.isEmpty)
        let scores = try records.map { try RecordCoding.decode(ScoreRecord.self, from: $0.value ?? []) }
        let latest = scores.map(\.validAt.millisecondsSinceEpoch).max() ?? 0
        #expect(
            latest <= Self.realNow + Self.skew,
            "a score record valid at \(Timestamp(millisecondsSinceEpoch: latest)), real time \(Timestamp(millisecondsSinceEpoch: Self.realNow))"
        )
        // The evaluator, whose clock is right, takes every one of them.
        let evaluator = try Self.evaluator()
        var refused: [String] = []
        for record in records {
            let consumed = ConsumedRecord(
                topic: "health-scores", partition: 0, offset: 0, key: record.key, value: record.value,
                headers: [], timestamp: Self.realNow)
            if case .rejected(let r) = evaluator.process(consumed, now: Self.realNow) {
                refused.append("\(r.code): \(r.reason)")
            }
        }
        #expect(refused.isEmpty, "the evaluator refused \(refused.count) of \(records.count): \(refused.prefix(3))")
    }

    // The bound follows the producers' clock forward: a partition that goes quiet still loses
    // health day by day live, with and without a Kafka timestamp on its records.
    @Test func aQuietPartitionStillSeesSilenceWhenItsRecordsCarryTimestamps() {
        for stamped in [true, false] {
            let scorer = ProcessorHarness(processor: ScorerProcessor(scoresTopic: "health-scores", live: true))
            let start = Self.realNow - 30 * Self.day
            for d in 0..<30 {
                for n in 0..<5 {
                    let now = start + Int64(d) * Self.day + Int64(n) * Self.hour
                    _ = scorer.process(
                        Self.event(
                            "e\(d)-\(n)", account: "acct-0", at: now - 60_000, producedAt: stamped ? now - 500 : nil),
                        now: now)
                }
            }
            var emitted: [OutgoingRecord] = []
            for d in 30..<40 { emitted += scorer.tick(now: start + Int64(d) * Self.day + 2 * Self.hour) }
            #expect(!emitted.isEmpty, "no re-score in ten silent days (timestamps: \(stamped))")
            #expect(emitted.count <= 10, "at most one re-score per midnight, got \(emitted.count)")
        }
    }
}
