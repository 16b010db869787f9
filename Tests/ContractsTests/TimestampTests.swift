import Testing

@testable import Contracts

@Suite struct TimestampTests {
    @Test(arguments: [
        ("1970-01-01T00:00:00Z", Int64(0)),
        ("2026-11-20T10:00:00Z", Int64(1_795_168_800_000)),
        ("2026-11-20T12:00:00+02:00", Int64(1_795_168_800_000)),
        ("2026-11-20T10:00:00.5Z", Int64(1_795_168_800_500)),
        ("2024-02-29T23:59:59.999999Z", Int64(1_709_251_199_999)),
        ("1969-12-31T23:59:59Z", Int64(-1000)),
    ])
    func parses(text: String, millis: Int64) {
        #expect(Timestamp(rfc3339: text)?.millisecondsSinceEpoch == millis)
    }

    @Test(arguments: [
        "", "2026-11-20", "2026-11-20T10:00:00", "2026-13-01T00:00:00Z", "2025-02-29T00:00:00Z",
        "2026-11-20T24:00:00Z", "2026-11-20T10:00:00.Z", "2026-11-20T10:00:00+2:00", "2026-11-20T10:00:00Zjunk",
        "20261120T100000Z", "2026-11-20T10:00:00+25:00",
    ])
    func rejects(text: String) {
        #expect(Timestamp(rfc3339: text) == nil)
    }

    @Test func formatsRoundTrip() {
        for ms in stride(from: Int64(-86_400_000 * 800), to: 86_400_000 * 40_000, by: 86_400_000 * 13 + 3_723_456) {
            let t = Timestamp(millisecondsSinceEpoch: ms)
            #expect(Timestamp(rfc3339: t.rfc3339) == t, "\(t.rfc3339)")
        }
        #expect(Timestamp(millisecondsSinceEpoch: 1_795_168_800_000).rfc3339 == "2026-11-20T10:00:00Z")
        #expect(Timestamp(millisecondsSinceEpoch: 1_795_168_800_007).rfc3339 == "2026-11-20T10:00:00.007Z")
    }

    @Test func weekdays() {
        #expect(Timestamp(rfc3339: "2026-11-23T05:00:00Z")!.weekday == 0)  // Monday
        #expect(Timestamp(rfc3339: "2026-11-22T05:00:00Z")!.weekday == 6)  // Sunday
        #expect(Timestamp(rfc3339: "1969-12-31T05:00:00Z")!.weekday == 2)  // Wednesday
    }
}
