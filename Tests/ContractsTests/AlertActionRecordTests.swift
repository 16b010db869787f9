import Foundation
import Testing

@testable import Contracts

/// The `alert-actions` record: its JSON, and every field a reader refuses to apply.
@Suite struct AlertActionRecordTests {
    static let at = Timestamp(year: 2026, month: 11, day: 20, hour: 10)

    static func take() -> AlertActionRecord {
        AlertActionRecord(
            actionId: "0f1e2d3c4b5a69788796a5b4c3d2e1f0", kind: .take, accountId: "acme", alertId: "8f3c1af3e2f71128",
            rule: "account-at-risk", destination: "cs-escalations", by: "U024BE7LH", at: at, source: .slack)
    }

    static func silence() -> AlertActionRecord {
        AlertActionRecord(
            actionId: "s-1", kind: .silence, accountId: "*", by: "dana", at: at, until: at.adding(days: 7),
            silenceId: "s-1", matchers: SilenceMatchers(rule: "account-at-risk", tier: .smb),
            reason: "rule being retuned", source: .fleetAdmin)
    }

    @Test func theJSONOfAClick() throws {
        let text = String(decoding: try RecordCoding.encode(Self.take()), as: UTF8.self)
        #expect(
            text
                == #"{"account_id":"acme","action_id":"0f1e2d3c4b5a69788796a5b4c3d2e1f0","alert_id":"8f3c1af3e2f71128","at":"2026-11-20T10:00:00Z","by":"U024BE7LH","destination":"cs-escalations","kind":"take","rule":"account-at-risk","schema":1,"source":"slack"}"#
        )
        #expect(try RecordCoding.decode(AlertActionRecord.self, from: Array(text.utf8)) == Self.take())
        #expect(throws: DecodingError.self) {
            try RecordCoding.decode(
                AlertActionRecord.self, from: Array(text.replacingOccurrences(of: "\"take\"", with: "\"delete\"").utf8))
        }
    }

    @Test func theJSONOfASilence() throws {
        let text = String(decoding: try RecordCoding.encode(Self.silence()), as: UTF8.self)
        #expect(text.contains(#""matchers":{"rule":"account-at-risk","tier":"smb"}"#))
        #expect(text.contains(#""until":"2026-11-27T10:00:00Z""#) && text.contains(#""source":"fleet-admin""#))
        #expect(try RecordCoding.decode(AlertActionRecord.self, from: Array(text.utf8)) == Self.silence())
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var change: @Sendable (inout AlertActionRecord) -> Void
        var problem: String?
        var silence = false
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "a whole click", change: { _ in }, problem: nil),
        Case(name: "a whole silence", change: { _ in }, problem: nil, silence: true),
        Case(name: "unknown schema", change: { $0.schema = 2 }, problem: "unknown schema 2"),
        Case(name: "empty action id", change: { $0.actionId = "" }, problem: "empty action_id"),
        Case(
            name: "long account", change: { $0.accountId = String(repeating: "a", count: 257) },
            problem: "account_id longer than 256 characters"),
        Case(name: "empty by", change: { $0.by = "" }, problem: "empty by"),
        Case(name: "click without alert", change: { $0.alertId = nil }, problem: "missing alert_id"),
        Case(name: "click on every account", change: { $0.accountId = "*" }, problem: "take on every account"),
        Case(name: "snooze without end", change: { $0.kind = .snooze }, problem: "snooze without until"),
        Case(
            name: "snooze ending at once",
            change: {
                $0.kind = .snooze
                $0.until = $0.at
            }, problem: "snooze ends before it starts"),
        Case(name: "resolve without outcome", change: { $0.kind = .resolve }, problem: "resolve without outcome"),
        Case(
            name: "long reason", change: { $0.reason = String(repeating: "x", count: 1001) },
            problem: "reason longer than 1000 characters"),
        Case(
            name: "silence without matchers", change: { $0.matchers = SilenceMatchers() },
            problem: "silence without matchers", silence: true),
        Case(name: "silence without id", change: { $0.silenceId = nil }, problem: "missing silence_id", silence: true),
        Case(name: "silence without end", change: { $0.until = nil }, problem: "silence without until", silence: true),
        Case(
            name: "silence keyed by another account", change: { $0.accountId = "acme" },
            problem: "account_id is not the silence's account matcher (or * without one)", silence: true),
        Case(
            name: "silence on one account",
            change: {
                $0.accountId = "acme"
                $0.matchers?.account = "acme"
            }, problem: nil, silence: true),
        Case(
            name: "expiry without id",
            change: {
                $0.kind = .expireSilence
                $0.silenceId = nil
            }, problem: "missing silence_id", silence: true),
    ]

    @Test(arguments: cases) func problem(_ c: Case) {
        var record = c.silence ? Self.silence() : Self.take()
        c.change(&record)
        #expect(record.problem == c.problem)
    }

    @Test func matchers() {
        let m = SilenceMatchers(rule: "r1", tier: .smb)
        #expect(m.matches(account: "a", rule: "r1", type: .customerAtRisk, tier: .smb, destination: "d"))
        #expect(!m.matches(account: "a", rule: "r2", type: .customerAtRisk, tier: .smb, destination: "d"))
        #expect(!m.matches(account: "a", rule: "r1", type: .customerAtRisk, tier: nil, destination: "d"))
        #expect(SilenceMatchers().isEmpty && !m.isEmpty)
    }
}
