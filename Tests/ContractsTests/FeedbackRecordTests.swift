import Foundation
import Testing

@testable import Contracts

@Suite struct FeedbackRecordTests {
    @Test func theAlertFeedbackRecordsJSON() throws {
        let record = FeedbackRecord(
            alertId: "8f3c1af3e2f71128", rule: "account-at-risk", destination: "cs-escalations",
            verdict: .notUseful, recordedAt: Timestamp(year: 2026, month: 11, day: 20, hour: 10))
        let text = String(decoding: try RecordCoding.encode(record), as: UTF8.self)
        #expect(
            text
                == #"{"alert_id":"8f3c1af3e2f71128","destination":"cs-escalations","recorded_at":"2026-11-20T10:00:00Z","rule":"account-at-risk","schema":1,"verdict":"not_useful"}"#
        )
        #expect(try RecordCoding.decode(FeedbackRecord.self, from: Array(text.utf8)) == record)
        #expect(throws: DecodingError.self) {
            try RecordCoding.decode(
                FeedbackRecord.self, from: Array(text.replacingOccurrences(of: "not_useful", with: "meh").utf8))
        }
    }

    /// `link_id` and `link_expires_at` are optional: written when known, and a record from before
    /// they existed still decodes (with none).
    @Test func theLinkFieldsAreOptional() throws {
        var record = FeedbackRecord(
            alertId: "8f3c1af3e2f71128", rule: "account-at-risk", destination: "cs-escalations",
            verdict: .useful, recordedAt: Timestamp(year: 2026, month: 11, day: 20, hour: 10))
        record.linkId = "YqQL8nECDRfWOe1SkPzmLzgIJD_i9FJizDrTweAoAWo"
        record.linkExpiresAt = Timestamp(year: 2026, month: 12, day: 4, hour: 10)
        let text = String(decoding: try RecordCoding.encode(record), as: UTF8.self)
        #expect(
            text.contains(
                #""link_expires_at":"2026-12-04T10:00:00Z","link_id":"YqQL8nECDRfWOe1SkPzmLzgIJD_i9FJizDrTweAoAWo""#))
        #expect(try RecordCoding.decode(FeedbackRecord.self, from: Array(text.utf8)) == record)
        let older =
            #"{"alert_id":"8f3c1af3e2f71128","destination":"cs-escalations","recorded_at":"2026-11-20T10:00:00Z","rule":"account-at-risk","schema":1,"verdict":"useful"}"#
        let decoded = try RecordCoding.decode(FeedbackRecord.self, from: Array(older.utf8))
        #expect(decoded.linkId == nil && decoded.linkExpiresAt == nil && decoded.alertId == "8f3c1af3e2f71128")
    }
}
