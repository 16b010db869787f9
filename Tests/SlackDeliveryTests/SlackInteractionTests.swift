import Contracts
import Foundation
import Testing

@testable import SlackDelivery

/// The lifecycle buttons in a message, and a click on them read back from Slack's interaction
/// request: every field of the payload is input, and anything off is refused with its reason.
@Suite struct SlackInteractionTests {
    static let now = Timestamp(millisecondsSinceEpoch: 1_795_132_800_000)

    /// The form body Slack sends for a click on `action` with `value`.
    static func body(
        action: String = AlertActionsBlock.Action.take.rawValue, value: String? = nil, user: String? = "U024BE7LH",
        team: String? = "T0001", actionTs: String? = "1795132800.123456", type: String = "block_actions",
        extra: [String: Any] = [:]
    ) -> [UInt8] {
        let target = AlertActionsBlock.value(for: Fixtures.alert(.customerAtRisk))!
        var clicked: [String: Any] = ["action_id": action, "type": "button", "block_id": AlertActionsBlock.blockId]
        clicked["value"] = value ?? target
        if let actionTs { clicked["action_ts"] = actionTs }
        var payload: [String: Any] = ["type": type, "actions": [clicked], "response_url": "https://example.invalid/r"]
        if let user { payload["user"] = ["id": user, "username": "dana"] }
        if let team { payload["team"] = ["id": team] }
        for (k, v) in extra { payload[k] = v }
        let json = try! JSONSerialization.data(withJSONObject: payload)
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return Array(
            ("payload=" + String(decoding: json, as: UTF8.self).addingPercentEncoding(withAllowedCharacters: allowed)!)
                .utf8)
    }

    @Test func theButtonsAreInEverySingleAccountAlertAndTheMessageStaysValid() throws {
        var renderer = SlackMessageRenderer()
        renderer.actions = AlertActionsBlock()
        for type in AlertType.allCases where type != .digest && type != .recovered {
            let alert = Fixtures.alert(type)
            let bytes = renderer.render(alert)
            #expect(BlockKitValidator.validate(message: bytes).isEmpty, "\(type)")
            let text = String(decoding: bytes, as: UTF8.self)
            for action in AlertActionsBlock.Action.allCases {
                #expect(text.contains("\"\(action.rawValue)\""), "\(type): \(action)")
            }
        }
        for type in [AlertType.recovered, .digest] {
            let text = String(decoding: renderer.render(Fixtures.alert(type)), as: UTF8.self)
            #expect(!text.contains(AlertActionsBlock.blockId), "\(type) carries no lifecycle buttons")
        }
        let off = String(decoding: SlackMessageRenderer().render(Fixtures.alert(.customerAtRisk)), as: UTF8.self)
        #expect(!off.contains(AlertActionsBlock.blockId), "no buttons unless configured")
    }

    /// The feedback links stay beside the new buttons: the precision report keeps its input.
    @Test func theFeedbackLinksStay() {
        let signer = FeedbackLinkSigner(
            baseURL: "https://fleet.example.com", secret: SigningSecret(String(repeating: "k", count: 32)))
        var renderer = SlackMessageRenderer(feedback: signer)
        renderer.actions = AlertActionsBlock()
        let text = String(decoding: renderer.render(Fixtures.alert(.customerAtRisk)), as: UTF8.self)
        #expect(text.contains("feedback_useful") && text.contains("feedback_not_useful"))
        #expect(text.contains(AlertActionsBlock.blockId))
    }

    @Test func anAlertWhoseNamesDoNotFitGetsNoButtons() {
        var alert = Fixtures.alert(.customerAtRisk)
        alert.rule = String(repeating: "r", count: 2100)
        var renderer = SlackMessageRenderer()
        renderer.actions = AlertActionsBlock()
        let bytes = renderer.render(alert)
        #expect(!String(decoding: bytes, as: UTF8.self).contains(AlertActionsBlock.blockId))
        #expect(BlockKitValidator.validate(message: bytes).isEmpty)
    }

    @Test func aClickBecomesItsRecord() throws {
        for action in AlertActionsBlock.Action.allCases {
            let click = try SlackInteraction.parse(formBody: Self.body(action: action.rawValue)).get()
            let record = click.record(receivedAt: Self.now)
            #expect(record.problem == nil, "\(action): \(record.problem ?? "")")
            #expect(record.kind == action.kind)
            #expect(record.accountId == "acme" && record.alertId == "al-customer_at_risk-acme-1")
            #expect(record.destination == "cs-test" && record.rule == "critical-zone" && record.by == "U024BE7LH")
            #expect(record.source == .slack && record.at == Self.now)
            #expect(record.outcome == action.outcome)
            #expect(
                record.until?.millisecondsSinceEpoch == action.snoozeMs.map { Self.now.millisecondsSinceEpoch + $0 })
        }
        let take = try SlackInteraction.parse(formBody: Self.body()).get()
        let again = try SlackInteraction.parse(formBody: Self.body()).get()
        let other = try SlackInteraction.parse(formBody: Self.body(actionTs: "1795132801.000001")).get()
        #expect(take.id == again.id, "the same click delivered twice has one id")
        #expect(take.id != other.id, "another click has another id")
        #expect(take.id.count == 32)
    }

    struct Refused: Sendable, CustomTestStringConvertible {
        var name: String
        var body: [UInt8]
        var reason: SlackInteractionRefusal
        var testDescription: String { name }
    }

    static let refused: [Refused] = [
        Refused(name: "empty body", body: [], reason: .notForm),
        Refused(name: "no payload field", body: Array("token=x&team_id=T1".utf8), reason: .notForm),
        Refused(name: "bad percent-encoding", body: Array("payload=%7B%ZZ".utf8), reason: .notForm),
        Refused(
            name: "over the size cap", body: Array("payload=".utf8) + Array(repeating: 0x61, count: 300_000),
            reason: .notForm),
        Refused(name: "not JSON", body: Array("payload=hello".utf8), reason: .notJSON),
        Refused(name: "a JSON list", body: Array("payload=%5B1%5D".utf8), reason: .notJSON),
        Refused(name: "a view submission", body: body(type: "view_submission"), reason: .notBlockActions),
        Refused(name: "another app's button", body: body(action: "approve_deploy"), reason: .unknownAction),
        Refused(name: "a value that is no target", body: body(value: "{\"x\":1}"), reason: .badValue),
        Refused(name: "a value that is not JSON", body: body(value: "acme"), reason: .badValue),
        Refused(name: "an empty account", body: body(value: #"{"a":"al-1","c":"","d":"cs"}"#), reason: .badValue),
        Refused(name: "every account", body: body(value: #"{"a":"al-1","c":"*","d":"cs"}"#), reason: .badValue),
        Refused(
            name: "a huge alert id",
            body: body(value: "{\"a\":\"\(String(repeating: "a", count: 300))\",\"c\":\"acme\",\"d\":\"cs\"}"),
            reason: .badValue),
        Refused(name: "no user", body: body(user: nil), reason: .badIdentity),
        Refused(name: "a user with a newline", body: body(user: "U1\nadmin"), reason: .badIdentity),
        Refused(name: "a long user", body: body(user: String(repeating: "U", count: 65)), reason: .badIdentity),
        Refused(name: "no action_ts", body: body(actionTs: nil), reason: .badIdentity),
        Refused(name: "a team with spaces", body: body(team: "T 1"), reason: .badIdentity),
    ]

    @Test(arguments: refused) func refusal(_ r: Refused) {
        switch SlackInteraction.parse(formBody: r.body) {
        case .success(let click): Issue.record("accepted: \(click)")
        case .failure(let reason): #expect(reason == r.reason)
        }
    }

    @Test func twoActionsInOneRequestAreRefused() throws {
        let one = String(decoding: Self.body(), as: UTF8.self)
        let json = try #require(SlackInteraction.formField("payload", in: Array(one.utf8)))
        var payload = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let actions = try #require(payload["actions"] as? [Any])
        payload["actions"] = actions + actions
        let data = try JSONSerialization.data(withJSONObject: payload)
        let body =
            "payload=" + String(decoding: data, as: UTF8.self).addingPercentEncoding(
                withAllowedCharacters: .alphanumerics)!
        #expect(throws: SlackInteractionRefusal.notBlockActions) {
            try SlackInteraction.parse(formBody: Array(body.utf8)).get()
        }
    }
}
