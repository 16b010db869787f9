import Foundation
import Testing

@testable import Contracts

@Suite struct RecordCodingTests {
    static let score = ScoreRecord(
        accountId: "acme", validAt: Timestamp(rfc3339: "2026-11-20T10:00:00Z")!, score: 32, previousScore: 50,
        delta: -18,
        zone: .critical, previousZone: .atRisk,
        components: FamilyScores(productUsage: 20, engagement: 40, support: 30, commercial: 35),
        signals: [
            Signal(
                code: SignalCode.loginsDown, family: .productUsage, text: "Logins down 62% vs 28-day baseline",
                impact: -14.5, value: -0.62, baseline: 40)
        ],
        positiveSignals: [],
        profile: AccountProfile(
            name: "Acme Corp", tier: .enterprise, mrr: 12000, owner: "U1", url: "https://crm.example/acme"),
        triggers: [
            Trigger(
                type: .paymentFailed, eventId: "e-9", occurredAt: Timestamp(rfc3339: "2026-11-20T09:00:00Z")!,
                ref: "inv-1", amount: 1200, currency: "USD")
        ],
        eventIds: ["e-9"], reasons: [.zoneChange, .businessEvent], cancellationScheduled: false)

    @Test func scoreRecordRoundTripsWithSnakeCaseKeys() throws {
        let bytes = try RecordCoding.encode(Self.score)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains("\"account_id\":\"acme\""))
        #expect(text.contains("\"valid_at\":\"2026-11-20T10:00:00Z\""))
        #expect(text.contains("\"product_usage\":20"))
        #expect(try RecordCoding.decode(ScoreRecord.self, from: bytes) == Self.score)
        #expect(try RecordCoding.encode(Self.score) == bytes, "encoding is deterministic")
    }

    @Test func alertRecordRoundTrips() throws {
        let alert = AlertRecord(
            alertId: "a-1", type: .customerAtRisk, severity: .high, priority: Priority(level: 1)!,
            destination: "cs-escalations",
            accountId: "acme", raisedAt: Self.score.validAt, notBefore: nil, score: Self.score, mention: "U1",
            suggestedAction: "Call the champion", playbookURL: "https://wiki.example/playbooks/at-risk")
        let bytes = try RecordCoding.encode(alert)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains("\"priority\":\"P1\""))
        #expect(text.contains("\"type\":\"customer_at_risk\""))
        #expect(try RecordCoding.decode(AlertRecord.self, from: bytes) == alert)
        #expect(alert.deliveryKey == "a-1|cs-escalations")
    }

    @Test func decodingFailuresReadForPeople() {
        func failure(_ json: String) -> String {
            do {
                _ = try RecordCoding.decode(AlertRecord.self, from: Array(json.utf8))
                return "decoded"
            } catch {
                return RecordCoding.describe(error)
            }
        }
        #expect(failure("{") == "not valid JSON")
        #expect(failure(#"{"alert_id":"a"}"#).hasPrefix("missing key \""))
        #expect(
            failure(
                #"{"schema":"one","alert_id":"a","type":"recovered","severity":"low","priority":"P9","destination":"d","account_id":"x","raised_at":"2026-11-20T10:00:00Z"}"#
            )
                == "wrong type at schema: expected a number")
        #expect(
            failure(
                #"{"schema":1,"alert_id":"a","type":"recovered","severity":"low","priority":"P9","destination":"d","account_id":"x","raised_at":"2026-11-20T10:00:00Z","score":{"schema":1,"account_id":7}}"#
            )
                == "wrong type at score.account_id: expected text")
        #expect(!failure(#"{"alert_id":"a"}"#).contains("CodingKeys"))
    }

    @Test func orderings() {
        #expect(Severity.critical > Severity.high)
        #expect(Zone.critical > Zone.atRisk)
        #expect(Priority(rawValue: "P1")! < Priority(rawValue: "P9")!)
        #expect(Priority(rawValue: "P0") == nil)
        #expect(Priority(rawValue: "P10") == nil)
    }
}
