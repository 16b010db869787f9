import Contracts
import Testing

@testable import HealthModel

@Suite struct EventParserTests {
    let parser = EventParser()

    @Test func parsesTheContractExample() throws {
        let e = try parser.parse(
            #"{"event_id": "e-123", "account_id": "acme", "type": "login", "occurred_at": "2026-11-20T10:00:00Z", "user_id": "u-9", "properties": {}}"#
        )
        #expect(e.eventId == "e-123")
        #expect(e.accountId == "acme")
        #expect(e.type == .login)
        #expect(e.occurredAt == Timestamp(year: 2026, month: 11, day: 20, hour: 10))
        #expect(e.userId == "u-9")
    }

    @Test func parsesTypedProperties() throws {
        let e = try parser.parse(
            #"{"event_id":"e1","account_id":"a","type":"account_updated","occurred_at":"2026-11-20T10:00:00.250+01:00","properties":{"name":"Acme \"Corp\" \u00e9","tier":"enterprise","mrr":12000.5,"owner":"U024BE7LH","renewal_date":"2027-01-31","timezone":"Europe/Paris","url":"https://crm.example/acme","extra":{"nested":[1,2,{"x":null}]}}}"#
        )
        #expect(e.type == .accountUpdated)
        #expect(e.occurredAt == Timestamp(year: 2026, month: 11, day: 20, hour: 9, millisecond: 250))
        #expect(e.properties.name == "Acme \"Corp\" é")
        #expect(e.properties.tier == .enterprise)
        #expect(e.properties.mrr == 12000.5)
        #expect(e.properties.renewalDate == "2027-01-31")
        let p = try parser.parse(
            #"{"event_id":"e2","account_id":"a","type":"payment_failed","occurred_at":"2026-11-20T10:00:00Z","properties":{"payment_id":"pay-1","invoice_id":"inv-1","amount":99.5,"currency":"EUR"}}"#
        )
        #expect(p.ref == "pay-1")
        #expect(p.properties.amount == 99.5)
        let t = try parser.parse(
            #"{"event_id":"e3","account_id":"a","type":"ticket_opened","occurred_at":"2026-11-20T10:00:00Z","properties":{"ticket_id":4711,"sentiment":-0.5,"priority":2}}"#
        )
        #expect(t.properties.ticketId == "4711")
        #expect(t.properties.sentiment == -0.5)
        #expect(t.properties.priority == "2")
    }

    @Test func unknownTypesAreKeptAsNeutralActivity() throws {
        let e = try parser.parse(
            #"{"event_id":"e1","account_id":"a","type":"webinar_attended","occurred_at":"2026-11-20T10:00:00Z"}"#)
        #expect(e.type == .other)
        #expect(e.typeName == "webinar_attended")
    }

    /// What a hostile input must give: a rejection with this reason (prefix), or acceptance that passes a check.
    enum Expect: Sendable {
        case rejected(EventRejection.Code, String)
        case accepted(@Sendable (AccountEvent) -> Bool)
    }

    static func event(props: String = "{}", type: String = "login", extra: String = "") -> [UInt8] {
        Array(
            #"{"event_id":"e1","account_id":"a","type":"\#(type)","occurred_at":"2026-11-20T10:00:00Z","properties":\#(props)\#(extra)}"#
                .utf8)
    }

    static let hostile: [(String, [UInt8], Expect)] = {
        let valid = #"{"event_id":"e1","account_id":"a","type":"login","occurred_at":"2026-11-20T10:00:00Z"}"#
        var cases: [(String, [UInt8], Expect)] = [
            ("empty", [], .rejected(.invalidJSON, "invalid JSON: empty payload")),
            ("whitespace only", Array(" \n\t".utf8), .rejected(.invalidJSON, "invalid JSON: empty payload")),
            (
                "truncated object", Array(valid.utf8.dropLast(5)),
                .rejected(.invalidJSON, "invalid JSON: unexpected end of input")
            ),
            (
                "truncated in a string", Array(#"{"event_id":"e1"#.utf8),
                .rejected(.invalidJSON, "invalid JSON: unexpected end of input")
            ),
            ("truncated escape", Array(#"{"event_id":"e1\"#.utf8), .rejected(.invalidJSON, "invalid JSON")),
            ("not JSON", Array("hello world".utf8), .rejected(.invalidJSON, "invalid JSON: not a JSON document")),
            ("an array", Array("[1,2,3]".utf8), .rejected(.notAnObject, "not a JSON object")),
            ("a number", Array("42".utf8), .rejected(.notAnObject, "not a JSON object")),
            ("trailing garbage", Array((valid + " x").utf8), .rejected(.invalidJSON, "invalid JSON: trailing data")),
            ("two objects", Array((valid + valid).utf8), .rejected(.invalidJSON, "invalid JSON: trailing data")),
            (
                "missing event_id",
                Array(#"{"account_id":"a","type":"login","occurred_at":"2026-11-20T10:00:00Z"}"#.utf8),
                .rejected(.missingField, "event_id: missing")
            ),
            (
                "null event_id",
                Array(#"{"event_id":null,"account_id":"a","type":"login","occurred_at":"2026-11-20T10:00:00Z"}"#.utf8),
                .rejected(.missingField, "event_id: missing")
            ),
            (
                "event_id wrong type",
                Array(#"{"event_id":true,"account_id":"a","type":"login","occurred_at":"2026-11-20T10:00:00Z"}"#.utf8),
                .rejected(.wrongType, "event_id: expected a string")
            ),
            (
                "account_id an object",
                Array(#"{"event_id":"e1","account_id":{},"type":"login","occurred_at":"2026-11-20T10:00:00Z"}"#.utf8),
                .rejected(.wrongType, "account_id: expected a string")
            ),
            (
                "empty account_id",
                Array(#"{"event_id":"e1","account_id":"","type":"login","occurred_at":"2026-11-20T10:00:00Z"}"#.utf8),
                .rejected(.badValue, "account_id: empty")
            ),
            (
                "missing occurred_at", Array(#"{"event_id":"e1","account_id":"a","type":"login"}"#.utf8),
                .rejected(.missingField, "occurred_at: missing")
            ),
            (
                "occurred_at not RFC 3339",
                Array(#"{"event_id":"e1","account_id":"a","type":"login","occurred_at":"yesterday"}"#.utf8),
                .rejected(.badTimestamp, "occurred_at: not RFC 3339")
            ),
            (
                "occurred_at 30 February",
                Array(#"{"event_id":"e1","account_id":"a","type":"login","occurred_at":"2026-02-30T10:00:00Z"}"#.utf8),
                .rejected(.badTimestamp, "occurred_at: not RFC 3339")
            ),
            (
                "occurred_at a number",
                Array(#"{"event_id":"e1","account_id":"a","type":"login","occurred_at":1700000000}"#.utf8),
                .rejected(.wrongType, "occurred_at: expected a string")
            ),
            (
                "occurred_at year 9999",
                Array(#"{"event_id":"e1","account_id":"a","type":"login","occurred_at":"9999-12-31T23:59:59Z"}"#.utf8),
                .rejected(.badTimestamp, "occurred_at: year outside 2000-2199")
            ),
            ("properties a string", event(props: #""x""#), .rejected(.wrongType, "properties: expected an object")),
            (
                "minutes a string", event(props: #"{"minutes":"ten"}"#, type: "session"),
                .rejected(.wrongType, "properties.minutes: expected a number")
            ),
            (
                "huge number", event(props: #"{"count":1e400}"#, type: "api_call"),
                .rejected(.badValue, "properties.count: number out of range")
            ),
            (
                "huge integer", event(props: #"{"count":99999999999999999999999}"#, type: "api_call"),
                .rejected(.badValue, "properties.count: out of range")
            ),
            (
                "fractional seats", event(props: #"{"seats":2.5}"#, type: "seats_changed"),
                .rejected(.wrongType, "properties.seats: expected an integer")
            ),
            ("NaN", event(props: #"{"minutes":NaN}"#, type: "session"), .rejected(.invalidJSON, "invalid JSON")),
            (
                "Infinity", event(props: #"{"minutes":Infinity}"#, type: "session"),
                .rejected(.invalidJSON, "invalid JSON")
            ),
            (
                "minus without digits", event(props: #"{"minutes":-}"#, type: "session"),
                .rejected(.invalidJSON, "invalid JSON: bad number")
            ),
            (
                "leading zeros", event(props: #"{"minutes":007}"#, type: "session"),
                .rejected(.invalidJSON, "invalid JSON")
            ),
            (
                "nps out of range", event(props: #"{"score":11}"#, type: "nps_response"),
                .rejected(.badValue, "properties.score: not 0-10")
            ),
            (
                "nps without score", event(type: "nps_response"),
                .rejected(.missingField, "properties.score: missing for nps_response")
            ),
            (
                "seats_changed without seats", event(type: "seats_changed"),
                .rejected(.missingField, "properties.seats: missing for seats_changed")
            ),
            (
                "sentiment out of range", event(props: #"{"sentiment":5}"#, type: "ticket_opened"),
                .rejected(.badValue, "properties.sentiment: not -1..1")
            ),
            (
                "negative amount", event(props: #"{"amount":-5}"#, type: "payment_failed"),
                .rejected(.badValue, "properties.amount: negative")
            ),
            (
                "unknown tier", event(props: #"{"tier":"gold"}"#, type: "account_updated"),
                .rejected(.badValue, "properties.tier: not enterprise, mid_market or smb")
            ),
            (
                "bad renewal date", event(props: #"{"renewal_date":"next year"}"#, type: "account_updated"),
                .rejected(.badValue, "properties.renewal_date: not YYYY-MM-DD")
            ),
            (
                "raw control character",
                Array(#"{"event_id":"e"#.utf8) + [0x01]
                    + Array(#"1","account_id":"a","type":"login","occurred_at":"2026-11-20T10:00:00Z"}"#.utf8),
                .rejected(.invalidJSON, "invalid JSON: control character in string")
            ),
            (
                "raw NUL", Array(#"{"event_id":"e1"#.utf8) + [0x00] + Array(#"","account_id":"a"}"#.utf8),
                .rejected(.invalidJSON, "invalid JSON: control character in string")
            ),
            (
                "escaped control character in an id",
                Array(
                    #"{"event_id":"e1","account_id":"a\u0007b","type":"login","occurred_at":"2026-11-20T10:00:00Z"}"#
                        .utf8), .rejected(.badValue, "account_id: control character")
            ),
            (
                "bad UTF-8",
                Array(#"{"event_id":"e1","account_id":"a"#.utf8) + [0xC3, 0x28]
                    + Array(#"","type":"login","occurred_at":"2026-11-20T10:00:00Z"}"#.utf8),
                .rejected(.notUTF8, "not UTF-8")
            ),
            (
                "overlong UTF-8",
                Array(#"{"event_id":"e1","account_id":"a"#.utf8) + [0xC0, 0xAF]
                    + Array(#"","type":"login","occurred_at":"2026-11-20T10:00:00Z"}"#.utf8),
                .rejected(.notUTF8, "not UTF-8")
            ),
            (
                "UTF-8 surrogate",
                Array(#"{"event_id":"e1","account_id":"a"#.utf8) + [0xED, 0xA0, 0x80]
                    + Array(#"","type":"login","occurred_at":"2026-11-20T10:00:00Z"}"#.utf8),
                .rejected(.notUTF8, "not UTF-8")
            ),
            (
                "truncated UTF-8 at the end", Array(#"{"event_id":"e1","account_id":"a"#.utf8) + [0xE2, 0x82],
                .rejected(.notUTF8, "not UTF-8")
            ),
            (
                "lone surrogate escape", event(props: #"{"name":"\uD800x"}"#, type: "account_updated"),
                .rejected(.invalidJSON, "invalid JSON: lone surrogate in \\u escape")
            ),
            (
                "bad escape", event(props: #"{"name":"\q"}"#, type: "account_updated"),
                .rejected(.invalidJSON, "invalid JSON: bad escape in string")
            ),
            (
                "byte order mark", [0xEF, 0xBB, 0xBF] + Array(valid.utf8),
                .rejected(.invalidJSON, "invalid JSON: not a JSON document")
            ),
            (
                "10k-deep nesting",
                event(
                    props: "{\"deep\":" + String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
                        + "}"), .rejected(.tooDeep, "nesting deeper than 64")
            ),
            (
                "10k-deep objects at the top",
                Array(
                    ("{\"event_id\":\"e1\",\"x\":" + String(repeating: "{\"a\":", count: 10_000) + "1"
                        + String(repeating: "}", count: 10_000) + "}").utf8),
                .rejected(.tooDeep, "nesting deeper than 64")
            ),
            (
                "2 MiB payload", event(props: "{\"blob\":\"" + String(repeating: "x", count: 2 << 20) + "\"}"),
                .rejected(.tooLarge, "payload over 1 MiB")
            ),
            (
                "event_id over 256 bytes",
                Array(
                    #"{"event_id":"\#(String(repeating: "e", count: 300))","account_id":"a","type":"login","occurred_at":"2026-11-20T10:00:00Z"}"#
                        .utf8), .rejected(.badValue, "event_id: longer than 256 bytes")
            ),
            (
                "100 KB name",
                event(props: "{\"name\":\"" + String(repeating: "n", count: 100_000) + "\"}", type: "account_updated"),
                .rejected(.badValue, "properties.name: longer than 256 bytes")
            ),
            ("missing colon", Array(#"{"event_id" "e1"}"#.utf8), .rejected(.invalidJSON, "invalid JSON: expected ':'")),
            (
                "trailing comma", Array(#"{"event_id":"e1",}"#.utf8),
                .rejected(.invalidJSON, "invalid JSON: expected a key")
            ),
            (
                "single quotes", Array(#"{'event_id':'e1'}"#.utf8),
                .rejected(.invalidJSON, "invalid JSON: expected a key")
            ),
        ]
        cases += [
            (
                "<!channel> in a name",
                event(props: #"{"name":"<!channel> <@U123> *bold*","tier":"smb"}"#, type: "account_updated"),
                .accepted { $0.properties.name == "<!channel> <@U123> *bold*" }
            ),
            (
                "nesting of exactly 64",
                event(
                    props: "{\"deep\":" + String(repeating: "[", count: 62) + String(repeating: "]", count: 62) + "}"),
                .accepted { $0.type == .login }
            ),
            (
                "unknown type with odd properties",
                event(props: #"{"a":[true,false,null,-0.5e-3,{"b":"\u00e9\ud83d\ude00"}]}"#, type: "webinar_attended"),
                .accepted { $0.type == .other && $0.typeName == "webinar_attended" }
            ),
            (
                "duplicate keys: the last wins",
                Array(
                    #"{"event_id":"e1","event_id":"e2","account_id":"a","type":"login","occurred_at":"2026-11-20T10:00:00Z"}"#
                        .utf8),
                .accepted { $0.eventId == "e2" }
            ),
            ("CRLF line ending", Array((valid + "\r\n").utf8), .accepted { $0.eventId == "e1" }),
            (
                "emoji and RTL text in a name", event(props: #"{"name":"Acme 🚀 \u202eevil"}"#, type: "account_updated"),
                .accepted { $0.properties.name == "Acme 🚀 \u{202E}evil" }
            ),
            ("null properties", event(props: "null"), .accepted { $0.properties == EventProperties() }),
            (
                "numeric event id",
                Array(#"{"event_id":12345,"account_id":"a","type":"login","occurred_at":"2026-11-20T10:00:00Z"}"#.utf8),
                .accepted { $0.eventId == "12345" }
            ),
        ]
        return cases
    }()

    @Test func hostileInputsAreRejectedWithAReasonOrAcceptedSafely() {
        #expect(Self.hostile.count >= 25)
        for (name, bytes, expected) in Self.hostile {
            switch expected {
            case .rejected(let code, let reason):
                do {
                    let e = try parser.parse(bytes)
                    Issue.record("\(name): accepted as \(e.eventId), expected \(reason)")
                } catch {
                    #expect(error.code == code, "\(name): \(error)")
                    #expect(error.reason.hasPrefix(reason), "\(name): got '\(error.reason)'")
                    #expect(error.reason.utf8.count < 120, "\(name): a reason stays short and never echoes the input")
                }
            case .accepted(let check):
                do {
                    let e = try parser.parse(bytes)
                    #expect(check(e), "\(name): accepted but not as expected: \(e)")
                } catch {
                    Issue.record("\(name): rejected with \(error)")
                }
            }
        }
    }

    @Test func randomlyMutatedEventsNeverCrash() {
        let lines = Fixtures.generator.lines(forDay: 0).prefix(50) + Fixtures.generator.lines(forDay: 1).prefix(50)
        var rng = SplitMix64(2026, 11, 24)
        let interesting: [UInt8] = [
            0x00, 0x22, 0x5C, 0x7B, 0x7D, 0x5B, 0x5D, 0x3A, 0x2C, 0x80, 0xC3, 0xED, 0xF4, 0xFF, 0x20, 0x0A, 0x75, 0x65,
            0x2D,
        ]
        var accepted = 0
        var rejected = 0
        for round in 0..<3000 {
            var bytes = Array(lines[lines.startIndex + round % lines.count])
            for _ in 0..<rng.int(1...4) {
                let at = rng.int(0...(bytes.count - 1))
                switch rng.int(0...3) {
                case 0: bytes[at] = interesting[rng.int(0...(interesting.count - 1))]
                case 1: bytes.remove(at: at)
                case 2: bytes.insert(interesting[rng.int(0...(interesting.count - 1))], at: at)
                default: bytes = Array(bytes[0..<at])
                }
                if bytes.isEmpty { bytes = [0x7B] }
            }
            do {
                let e = try parser.parse(bytes)
                #expect(!e.eventId.isEmpty && !e.accountId.isEmpty && !e.typeName.isEmpty)
                accepted += 1
            } catch {
                #expect(!error.reason.isEmpty)
                rejected += 1
            }
        }
        #expect(accepted > 0 && rejected > 0)
    }

    @Test func everyPrefixOfAnEventIsHandledWithoutCrashing() {
        let line = Array(
            #"{"event_id":"e1","account_id":"a","type":"account_updated","occurred_at":"2026-11-20T10:00:00Z","properties":{"name":"é😀","mrr":1.5e3,"x":[{"y":null}]}}"#
                .utf8)
        var rejected = 0
        for n in 0..<line.count {
            if (try? parser.parse(Array(line[0..<n]))) == nil { rejected += 1 }
        }
        #expect(rejected == line.count, "every strict prefix is refused")
        #expect((try? parser.parse(line)) != nil)
    }
}
