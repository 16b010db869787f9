import Foundation
import Testing
@testable import Contracts

@Suite struct FeedbackRecordTests {
    @Test func theAlertFeedbackRecordsJSON() throws {
        let record = FeedbackRecord(alertId: "8f3c1af3e2f71128", rule: "account-at-risk", destination: "cs-escalations",
                                    verdict: .notUseful, recordedAt: Timestamp(year: 2026, month: 11, day: 20, hour: 10))
        let text = String(decoding: try RecordCoding.encode(record), as: UTF8.self)
        #expect(text == #"{"alert_id":"8f3c1af3e2f71128","destination":"cs-escalations","recorded_at":"2026-11-20T10:00:00Z","rule":"account-at-risk","schema":1,"verdict":"not_useful"}"#)
        #expect(try RecordCoding.decode(FeedbackRecord.self, from: Array(text.utf8)) == record)
        #expect(throws: DecodingError.self) {
            try RecordCoding.decode(FeedbackRecord.self, from: Array(text.replacingOccurrences(of: "not_useful", with: "meh").utf8))
        }
    }
}
