import Foundation
import Testing

@testable import Contracts

@Suite struct ScoreDropTests {
    @Test func windowsReadInTheLargestExactUnit() {
        #expect(ScoreDrop.describe(windowMs: 7 * 86_400_000) == "7 days")
        #expect(ScoreDrop.describe(windowMs: 14 * 86_400_000) == "14 days")
        #expect(ScoreDrop.describe(windowMs: 42 * 86_400_000) == "6 weeks")
        #expect(ScoreDrop.describe(windowMs: 86_400_000) == "1 day")
        #expect(ScoreDrop.describe(windowMs: 36 * 3_600_000) == "36 hours")
        #expect(ScoreDrop.describe(windowMs: 90 * 60_000) == "90 minutes")
        #expect(ScoreDrop.describe(windowMs: 1_500) == "1 second")
    }

    @Test func summaries() {
        #expect(ScoreDrop(points: 26, fromScore: 79, windowMs: 7 * 86_400_000).summary == "-26 in 7 days")
        #expect(ScoreDrop(points: 5, fromScore: 43, line: 40).summary == "was 43, crossed below 40")
    }

    @Test func anAlertWrittenBeforeDropExistedStillDecodes() throws {
        // An `alerts` record as the evaluator wrote it before `drop` existed.
        let old =
            #"{"alert_id":"a-1","account_id":"acme","destination":"team","priority":"P3","raised_at":"2026-11-20T10:00:00Z","schema":1,"severity":"medium","type":"health_score_drop"}"#
        let alert = try RecordCoding.decode(AlertRecord.self, from: Array(old.utf8))
        #expect(alert.drop == nil)
        #expect(alert.type == .healthScoreDrop)
    }

    @Test func theDropTravelsWithTheAlertAndTheDigestItem() throws {
        let at = Timestamp(rfc3339: "2026-11-20T10:00:00Z")!
        let drop = ScoreDrop(points: 26, fromScore: 79, fromAt: at.adding(days: -6), windowMs: 7 * 86_400_000)
        let alert = AlertRecord(
            alertId: "a-1", type: .healthScoreDrop, severity: .medium, priority: Priority(level: 3)!,
            destination: "team",
            accountId: "acme", raisedAt: at, drop: drop)
        let text = String(decoding: try RecordCoding.encode(alert), as: UTF8.self)
        #expect(
            text.contains(
                #""drop":{"from_at":"2026-11-14T10:00:00Z","from_score":79,"points":26,"window_ms":604800000}"#))
        #expect(try RecordCoding.decode(AlertRecord.self, from: Array(text.utf8)) == alert)
        let item = DigestItem(
            alertId: "a-1", type: .healthScoreDrop, severity: .medium, accountId: "acme", accountName: nil, score: 53,
            delta: -2,
            zone: .atRisk, headline: "h", url: nil, at: at, drop: drop)
        #expect(try RecordCoding.decode(DigestItem.self, from: try RecordCoding.encode(item)) == item)
    }
}
