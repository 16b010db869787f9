import HealthModel
import Testing

/// `fleet-admin events validate`'s core: each line judged as the ingest-scorer would.
@Suite struct EventFileCheckTests {
    static let now: Int64 = 1_795_000_000_000  // 2026-11-18T11:06:40Z

    static func run(_ lines: [String], keep: Int = 100) -> EventFileCheck {
        var check = EventFileCheck(nowMilliseconds: now, maxClockSkewMilliseconds: 600_000, keepProblems: keep)
        for line in lines { check.check(Array(line.utf8)) }
        return check
    }

    static func login(_ id: String, at: String = "2026-11-17T10:00:00Z", type: String = "login") -> String {
        #"{"event_id":"\#(id)","account_id":"acme","type":"\#(type)","occurred_at":"\#(at)"}"#
    }

    @Test(
        arguments: [
            (login("e1"), nil),
            (#"{"event_id":"e1","account_id":"acme","type":"login"}"#, "missing_field"),
            ("{not json", "invalid_json"),
            ("[1]", "not_an_object"),
            (login("e1", at: "2026-11-18T00:00:00"), "bad_timestamp"),
            (login("e1", at: "2026-11-17T23:59:00Z"), nil),
            // 9 minutes ahead of `now`: within the 10-minute skew; 11 minutes ahead: beyond it.
            (login("e1", at: "2026-11-18T11:15:40Z"), nil),
            (login("e1", at: "2026-11-18T11:17:41Z"), "future_event_time"),
            (login("e1", at: "2029-01-01T00:00:00Z"), "future_event_time"),
        ] as [(String, String?)])
    func aLineIsAcceptedOrRefusedWithTheDeadLetterCode(line: String, code: String?) {
        let check = Self.run([line])
        #expect(check.refused == (code == nil ? 0 : 1))
        #expect(check.problems.first?.code == code)
        #expect(check.problems.first?.line == (code == nil ? nil : 1))
    }

    @Test func problemsCarryTheirLineNumbersAndBlankLinesAreSkipped() {
        let check = Self.run([Self.login("e1"), "", "{bad", "   ", Self.login("e2", at: "1999-01-01T00:00:00Z")])
        #expect(check.problems.map(\.line) == [3, 5])
        #expect(check.accepted == 1 && check.refused == 2 && check.blankLines == 2)
        #expect(check.summary.hasPrefix("3 events checked: 1 accepted, 2 refused (bad_timestamp 1, invalid_json 1)"))
    }

    @Test func unknownTypesAndRepeatedIdsAreReportedNotRefused() {
        let check = Self.run([Self.login("e1"), Self.login("e1"), Self.login("e2", type: "report_viewed")])
        #expect(check.refused == 0 && check.accepted == 3)
        #expect(check.duplicateIds == 1)
        #expect(check.unknownTypes == ["report_viewed": 1])
        #expect(check.summary.contains("report_viewed 1") && check.summary.contains("1 repeated event_id"))
    }

    @Test func everyRefusalIsCountedEvenPastThePrintedOnes() {
        let check = Self.run(Array(repeating: "{bad", count: 250), keep: 10)
        #expect(check.problems.count == 10)
        #expect(check.refused == 250)
    }
}
