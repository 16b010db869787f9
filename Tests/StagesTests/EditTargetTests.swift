import Contracts
import SlackDelivery
import Testing

@testable import Stages

/// Update in place (issue 24), the dispatcher's side: what it does with an update record, as a
/// table, and where the delivery log remembers each message to be.
@Suite struct EditTargetTests {
    static let message = PostedMessage(channel: "C0TEAM", ts: "1764000000.000100")!

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var kind: Destination.Kind?
        var target: String?
        var logged: Bool
        var inFlight: Bool
        var verdict: EditTarget
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "Slack app, original logged: edit it", kind: .slackApp, target: "a1", logged: true, inFlight: false,
            verdict: .edit(message)),
        Case(
            name: "Slack app, original being posted: wait for it", kind: .slackApp, target: "a1", logged: false,
            inFlight: true, verdict: .waitForOriginal(retryAt: 1000 + EditTarget.originalWaitMs)),
        Case(
            name: "Slack app, original never posted here: skip", kind: .slackApp, target: "a1", logged: false,
            inFlight: false, verdict: .skip(reason: "no_message")),
        Case(
            name: "Slack app, no target named: skip", kind: .slackApp, target: nil, logged: true, inFlight: false,
            verdict: .skip(reason: "no_message")),
        Case(
            name: "incoming webhook: cannot edit", kind: .slack, target: "a1", logged: true, inFlight: false,
            verdict: .skip(reason: "incoming_webhook")),
        Case(
            name: "email: a sent email cannot be edited", kind: .email, target: "a1", logged: true, inFlight: false,
            verdict: .skip(reason: "email")),
        Case(
            name: "generic webhook: the record is sent", kind: .webhook, target: "a1", logged: false, inFlight: false,
            verdict: .asRecord),
        Case(
            name: "unknown destination: the post path reports it", kind: nil, target: "a1", logged: false,
            inFlight: false, verdict: .asRecord),
    ]

    @Test(arguments: cases) func anUpdateRecord(_ c: Case) {
        let verdict = EditTarget.decide(
            kind: c.kind, target: c.target, message: { $0 == "a1" && c.logged ? Self.message : nil },
            targetInFlight: { $0 == "a1" && c.inFlight }, now: 1000)
        #expect(verdict == c.verdict)
    }

    @Test func theLogRemembersWhereEachMessageIsAndDistrustsWhatItReads() throws {
        func entry(_ id: String, channel: String?, ts: String?) throws -> [UInt8] {
            try RecordCoding.encode(
                DeliveryLogEntry(
                    alertId: id, destination: "d", accountId: "acme", type: "customer_at_risk",
                    deliveredAt: Timestamp(millisecondsSinceEpoch: 5), status: 200, retries: 0, messageAlertIds: [id],
                    channel: channel, ts: ts))
        }
        var snapshot = DeliveryLogSnapshot()
        snapshot.apply(key: "a1|d", value: try entry("a1", channel: "C0TEAM", ts: "1764000000.000100"), timestamp: 5)
        snapshot.apply(key: "a2|d", value: try entry("a2", channel: nil, ts: nil), timestamp: 5)
        snapshot.apply(key: "a3|d", value: try entry("a3", channel: "C0TEAM\"}", ts: "1.2"), timestamp: 5)
        snapshot.apply(key: "a4|d", value: try entry("a4", channel: "C0TEAM", ts: "1.2"), timestamp: 5)
        snapshot.apply(key: "a4|d", value: nil, timestamp: 6)
        #expect(snapshot.messages == ["a1|d": Self.message], "webhook, malformed and deleted entries have none")
        #expect(Set(snapshot.delivered.keys) == ["a1|d", "a2|d", "a3|d"])

        let log = DeliveryLog()
        log.load(partition: 0, snapshot: snapshot)
        #expect(log.message(of: "a1|d", partition: 0) == Self.message)
        let posted = try #require(PostedMessage(channel: "C0TEAM", ts: "1764000000.000200"))
        log.delivered(["a5|d"], partition: 0, at: 10, message: posted)
        // Given away and assigned again: what this process posted itself is kept with the log's.
        log.drop(partition: 0)
        #expect(log.message(of: "a1|d", partition: 0) == nil)
        log.load(partition: 0, snapshot: snapshot)
        #expect(log.message(of: "a5|d", partition: 0) == posted && log.message(of: "a1|d", partition: 0) != nil)
        // Forgotten with its delivery past the horizon.
        log.prune(now: 10 + DeliveryLog.defaultHorizonMilliseconds + 1)
        #expect(log.message(of: "a5|d", partition: 0) == nil && log.message(of: "a1|d", partition: 0) == nil)
    }
}

extension EditTargetTests {
    /// A grouped message (several alerts) is an edit and thread target marked `grouped`: an edit
    /// then keeps its details (see `SlackMessageRenderer.renderUpdate`).
    @Test func aGroupedMessageIsAGroupedTarget() throws {
        let entry = DeliveryLogEntry(
            alertId: "a1", destination: "d", accountId: "acme", type: "customer_at_risk",
            deliveredAt: Timestamp(millisecondsSinceEpoch: 5), status: 200, retries: 0, messageAlertIds: ["a1", "a2"],
            channel: "C0TEAM", ts: "1764000000.000100")
        var snapshot = DeliveryLogSnapshot()
        snapshot.apply(key: "a1|d", value: try RecordCoding.encode(entry), timestamp: 5)
        var grouped = Self.message
        grouped.grouped = true
        #expect(snapshot.messages == ["a1|d": grouped] && snapshot.delivered["a1|d"] == 5)
        #expect(!Self.message.grouped)
    }
}
