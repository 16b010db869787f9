import Contracts
import Testing

@testable import HealthModel

@Suite struct ScoreRecordWriterTests {
    @Test func writesTheSameBytesAsRecordCodingForEverySampleRecord() throws {
        let records = Fixtures.replayed.records
        #expect(records.count > 100)
        for r in records {
            #expect(try ScoreRecordWriter.encode(r) == RecordCoding.encode(r), "\(r.accountId) at \(r.validAt)")
        }
    }

    static let edgeStrings = [
        "", "plain", "quote \" and backslash \\ and slash /", "é ü 日本 🚀", "<!channel> <@U1>", "tab\there", "nul\u{0}",
        "\u{7F}del", "line\nbreak", "\u{2028}sep",
    ]
    static let edgeNumbers: [Double] = [
        0, 1, -1, 0.1, -0.62, -0.005, -12.05, 12000.5, 99.99, 1e-7, 1e15, 1e21, 123456789.123, -0.0,
        0.30000000000000004, 2.5e-3, 0.001, 7.1, -100.5, 33.333, 1 / 3,
    ]

    @Test func writesTheSameBytesForEdgeValues() throws {
        for (k, text) in Self.edgeStrings.enumerated() {
            let t = Timestamp(
                year: 2026, month: 11, day: 20, hour: 10, millisecond: k % 3 == 0 ? 5 : (k % 3 == 1 ? 0 : 750)
            ).adding(seconds: Int64(k * 3671))
            for (j, number) in Self.edgeNumbers.enumerated() where (k + j) % 3 == 0 || k == 0 {
                let r = ScoreRecord(
                    accountId: text, validAt: t, score: 42, previousScore: k % 2 == 0 ? nil : 50, delta: -8,
                    zone: .atRisk,
                    previousZone: k % 2 == 0 ? nil : .healthy,
                    components: FamilyScores(productUsage: number, engagement: 50.5, support: 100, commercial: 0),
                    signals: [
                        Signal(
                            code: "c", family: .support, text: text, impact: -number, value: j % 2 == 0 ? nil : number,
                            baseline: number)
                    ],
                    positiveSignals: [Signal(code: "p", family: .commercial, text: "x", impact: 1.5)],
                    profile: AccountProfile(
                        name: text, tier: .midMarket, mrr: number, owner: k % 2 == 0 ? nil : "U1",
                        url: "https://x/\(text)", renewalDate: "2027-01-01", timezone: "Europe/Paris"),
                    triggers: [
                        Trigger(
                            type: .seatsChanged, eventId: text, occurredAt: t, ref: k % 2 == 0 ? nil : text,
                            amount: number, currency: "EUR", seatsBefore: 3, seatsAfter: 4)
                    ],
                    eventIds: [text, "e-2"], reasons: [.zoneChange, .businessEvent], cancellationScheduled: k % 2 == 0)
                #expect(try ScoreRecordWriter.encode(r) == RecordCoding.encode(r), "\(text.debugDescription) \(number)")
            }
        }
    }
}
