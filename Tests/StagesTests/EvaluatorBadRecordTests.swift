import AlertRules
import Contracts
import Kafka
import Stages
import Testing
import WorkerRuntime

/// A `health-scores` value the evaluator cannot read is refused (to the dead-letter topic) with a
/// reason for people, as `RecordCoding.describe` words it, and changes nothing.
@Suite struct EvaluatorBadRecordTests {
    /// The good record's text with `from` replaced by `to` (with `from` empty: its last byte cut).
    static func value(_ from: String, _ to: String) throws -> [UInt8] {
        let good = try #require(
            EvaluatorRecordNewsTests.record("inv-1", at: "2026-11-20T16:00:00Z", sequence: 1).value)
        let text = String(decoding: good, as: UTF8.self)
        return Array((from.isEmpty ? String(text.dropLast()) : text.replacingOccurrences(of: from, with: to)).utf8)
    }

    @Test(arguments: [
        ("\"valid_at\"", "\"valid\"", "not a health-scores record: missing key \"valid_at\""),
        ("\"score\":76", "\"score\":\"76\"", "not a health-scores record: wrong type at score: expected a number"),
        (
            "\"zone\":\"healthy\"", "\"zone\":\"green\"",
            "not a health-scores record: bad value at zone: \"green\" is not one of healthy, at_risk, critical"
        ),
        ("", "", "not a health-scores record: not valid JSON at byte"),
    ])
    func badValuesAreRefusedWithTheirReason(from: String, to: String, reason: String) throws {
        let engine = RulesEngine(
            config: try RulesConfig.parse(yaml: EvaluatorRecordNewsTests.rulesYAML, file: "rules.yaml"))
        let harness = ProcessorHarness(
            processor: EvaluatorProcessor(engine: engine, alertsTopic: "alerts", live: false))
        let record = ConsumedRecord(
            topic: "health-scores", partition: 0, offset: 1, key: Array("acme".utf8), value: try Self.value(from, to),
            headers: [], timestamp: nil)
        let now = Timestamp(rfc3339: "2026-11-20T17:00:00Z")!.millisecondsSinceEpoch
        guard case .rejected(let rejection) = harness.process(record, now: now) else {
            Issue.record("accepted")
            return
        }
        #expect(rejection.code == "invalid_score_record")
        #expect(rejection.reason.hasPrefix(reason), "\(rejection.reason)")
        #expect(harness.state.count == 0)
    }
}
