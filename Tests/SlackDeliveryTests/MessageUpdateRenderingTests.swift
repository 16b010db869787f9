import Contracts
import Foundation
import SlackSink
import Synchronization
import Testing

@testable import SlackDelivery

/// Update in place (issue 24), the Slack side: the state line of each change, a closed message's
/// quiet colour without buttons, the `chat.update` and thread-reply bodies, and where Slack says
/// a message is, read from its answer without trusting it.
@Suite struct MessageUpdateRenderingTests {
    static let at = Timestamp(millisecondsSinceEpoch: 1_764_000_000_000)
    static let until = Timestamp(millisecondsSinceEpoch: 1_764_086_400_000)

    struct Case: Sendable, CustomTestStringConvertible {
        var update: MessageUpdate
        var line: String
        var closed: Bool
        var testDescription: String { update.state.rawValue }
    }

    static let cases: [Case] = [
        Case(
            update: MessageUpdate(state: .acknowledged, by: "U0DANA", at: at),
            line: ":eyes: *Acknowledged* by <@U0DANA> · <!date^1764000000^", closed: false),
        Case(
            update: MessageUpdate(state: .taken, by: "U0DANA", at: at),
            line: ":raising_hand: *Taken* by <@U0DANA> · <!date^1764000000^", closed: false),
        Case(
            update: MessageUpdate(state: .snoozed, by: "U0DANA", at: at, until: until),
            line: ":zzz: *Snoozed* by <@U0DANA> until <!date^1764086400^", closed: false),
        Case(
            update: MessageUpdate(state: .resolved, by: "U0DANA", at: at, outcome: .falsePositive),
            line: ":white_check_mark: *Resolved* by <@U0DANA>: false positive · <!date^1764000000^", closed: true),
        Case(
            update: MessageUpdate(state: .recovered, at: at, score: 78),
            line: ":large_green_circle: *Recovered*: health 78 · <!date^1764000000^", closed: true),
    ]

    @Test(arguments: cases) func theEditedMessageSaysWhatHappened(_ c: Case) throws {
        var renderer = SlackMessageRenderer()
        renderer.actions = AlertActionsBlock()
        var alert = Fixtures.alert(.customerAtRisk)
        alert.thread = alert.alertId
        alert.update = c.update
        #expect(renderer.stateLine(c.update).hasPrefix(c.line), "\(renderer.stateLine(c.update))")
        let posted = try #require(PostedMessage(channel: "C0TEAM", ts: "1764000000.000100"))
        let body = renderer.renderUpdate(alert, message: posted)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        #expect(json["channel"] as? String == "C0TEAM" && json["ts"] as? String == "1764000000.000100")
        let text = String(decoding: body, as: UTF8.self)
        #expect(text.contains(AlertColor.closed.rawValue) == c.closed)
        #expect(text.contains(AlertActionsBlock.blockId) == !c.closed, "buttons only while open")
        #expect(text.contains("\"alert_ids\":[\"\(alert.alertId)\"]"), "the metadata still names the original")
        #expect(BlockKitValidator.validate(message: renderer.render(alert)).isEmpty)
    }

    /// A grouped message keeps its details: the edit has no attachments and no metadata, which
    /// Slack then keeps as they were (the other alerts of the message, their buttons).
    @Test func anEditOfAGroupedMessageChangesOnlyItsHeaderAndStateLine() throws {
        var renderer = SlackMessageRenderer()
        renderer.actions = AlertActionsBlock()
        var alert = Fixtures.alert(.customerAtRisk)
        alert.thread = alert.alertId
        alert.update = MessageUpdate(state: .recovered, at: Self.at, score: 80)
        var posted = try #require(PostedMessage(channel: "C0TEAM", ts: "1764000000.000100"))
        posted.grouped = true
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(renderer.renderUpdate(alert, message: posted)))
                as? [String: Any])
        #expect(json["attachments"] == nil && json["metadata"] == nil)
        #expect(json["ts"] as? String == "1764000000.000100" && json["text"] is String)
        let blocks = try #require(json["blocks"] as? [[String: Any]])
        #expect(blocks.count == 2 && blocks.last?["type"] as? String == "context", "header and state line")
    }

    @Test func aFollowUpIsAThreadReplyAndAnEscalationIsAlsoShownInTheChannel() throws {
        let renderer = SlackMessageRenderer()
        let alert = Fixtures.alert(.customerAtRisk)
        func json(_ bytes: [UInt8]) throws -> [String: Any] {
            try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        }
        let plain = try json(renderer.renderForWebAPI(alert, channel: "C0TEAM"))
        #expect(plain["thread_ts"] == nil && plain["reply_broadcast"] == nil)
        let reply = try json(renderer.renderForWebAPI(alert, channel: "C0TEAM", threadTS: "1764000000.000100"))
        #expect(reply["thread_ts"] as? String == "1764000000.000100" && reply["reply_broadcast"] == nil)
        let broadcast = try json(
            renderer.renderForWebAPI(alert, channel: "C0TEAM", threadTS: "1764000000.000100", broadcast: true))
        #expect(broadcast["reply_broadcast"] as? Bool == true)
    }

    @Test(arguments: [
        ("C0TEAM", "1764000000.000100", true),
        ("CTESTAPP", "1.2", true),
        ("", "1764000000.000100", false),
        ("c0team", "1764000000.000100", false),
        ("C0TEAM\"", "1764000000.000100", false),
        (String(repeating: "C", count: 33), "1.2", false),
        ("C0TEAM", "1764000000", false),
        ("C0TEAM", ".1", false),
        ("C0TEAM", "1.", false),
        ("C0TEAM", "1.2.3", false),
        ("C0TEAM", "1e9.5", false),
        ("C0TEAM", String(repeating: "1", count: 31) + ".2", false),
    ])
    func aMessageReferenceIsCheckedBeforeItIsUsed(channel: String, ts: String, valid: Bool) {
        #expect((PostedMessage(channel: channel, ts: ts) != nil) == valid)
    }

    @Test func whereSlackPutTheMessageIsReadFromItsAnswer() {
        func read(_ text: String) -> PostedMessage? { WebAPIAnswer.postedMessage(Array(text.utf8)) }
        #expect(
            read(#"{"ok":true,"channel":"C0TEAM","ts":"1764000000.000100","message":{"ts":"1764000000.000100"}}"#)
                == PostedMessage(channel: "C0TEAM", ts: "1764000000.000100"))
        #expect(read(#"{"ok": true, "channel" : "C1", "ts" : "2.5"}"#) == PostedMessage(channel: "C1", ts: "2.5"))
        #expect(read(#"{"ok":true,"channel":"C0TEAM"}"#) == nil, "no ts")
        #expect(read(#"{"ok":true,"channel":"C0TEAM","ts":1764000000.0001}"#) == nil, "ts not a string")
        #expect(read(#"{"ok":true,"channel":"C0TEAM\"},{\"x","ts":"1.2"}"#) == nil, "escapes are not followed")
        #expect(read(#"{"ok":true,"channel":"C0TEAM","ts":"1.2"#) == nil, "cut answer")
        #expect(read("") == nil)
    }
}

/// Direct messages and edits against the sink's Web API: a direct message goes to its user, never
/// in a thread; a thread reply names its message; an edit changes the stored message in place.
@Suite struct SlackAppMessagePlacesTests {
    @Test(arguments: [
        ("U0OWNER", "U0OWNER"), ("W0OWNER", "W0OWNER"), ("C0CHAN", nil), ("u0owner", nil), ("U", nil),
        ("U0OWNER\"", nil), (String(repeating: "U", count: 33), nil),
    ])
    func aUserIdIsCheckedBeforeItAddressesAMessage(text: String, id: String?) {
        #expect(SlackDeliverer.userId(text) == id)
    }

    @Test func directMessagesRepliesAndEditsLandWhereTheySay() async throws {
        let sink = SlackSink()
        let port = try await sink.start()
        let api = try Destination(name: "x", url: "http://127.0.0.1:\(port)/api", allowInsecureHTTP: true).url
        let deliverer = try SlackDeliverer(
            destinations: [
                Destination(
                    name: "app", apiURL: api, token: BotToken("fake-bot-token-for-unit-tests"), channel: "C0APP",
                    rateLimit: RateLimit(perSecond: 100, burst: 100))
            ], settings: SinkHarness.fastSettings(), logger: SinkHarness.quietLogger)
        func post(_ alert: AlertRecord, thread: PostedMessage? = nil) async -> (DeliveryOutcome, PostedMessage?) {
            let placed = Placed()
            let outcome = await withCheckedContinuation { c in
                deliverer.submit(alert, to: "app", thread: thread, posted: { placed.set($0) }) {
                    c.resume(returning: $0)
                }
            }
            return (outcome, placed.value)
        }
        let opening = Fixtures.alert(.customerAtRisk, destination: "app")
        let (first, placedAt) = await post(opening)
        let message = try #require(placedAt, "no channel and ts heard from the answer")
        #expect(first == .delivered(status: 200) && message.channel == "C0APP")
        var followUp = Fixtures.alert(.customerAtRisk, destination: "app")
        followUp.alertId = "al-repeat"
        followUp.thread = opening.alertId
        #expect(await post(followUp, thread: message).0 == .delivered(status: 200))
        var direct = followUp
        direct.alertId = "al-direct"
        direct.directTo = "U0OWNER"
        #expect(await post(direct, thread: message).0 == .delivered(status: 200))
        let stored = sink.storedMessages()
        #expect(stored.map(\.channel) == ["C0APP", "C0APP", "U0OWNER"])
        #expect(stored.map(\.threadTS) == [nil, message.ts, nil], "a direct message is never a reply")

        var edit = opening
        edit.alertId = "al-edit"
        edit.thread = opening.alertId
        edit.update = MessageUpdate(state: .taken, by: "U0DANA", at: opening.raisedAt)
        let edited = await withCheckedContinuation { c in
            deliverer.update(edit, message: message) { c.resume(returning: $0) }
        }
        #expect(edited == .delivered(status: 200))
        #expect(sink.storedMessages().first?.edits == 1 && sink.storedMessages().count == 3)
        let editedText = String(decoding: sink.storedMessages().first?.body ?? [], as: UTF8.self)
        #expect(editedText.contains("*Taken* by <@U0DANA>"), "\(editedText)")
        var gone = try #require(PostedMessage(channel: "C0APP", ts: "1.000001"))
        gone.grouped = false
        let missing = await withCheckedContinuation { c in
            deliverer.update(edit, message: gone) { c.resume(returning: $0) }
        }
        #expect(missing == .permanent(.slackAPIError(error: "message_not_found")))
        await deliverer.shutdown()
        await sink.stop()
    }
}

/// Where the sink said a message is (set on the engine thread).
private final class Placed: Sendable {
    private let stored = Mutex<PostedMessage?>(nil)
    func set(_ m: PostedMessage) { stored.withLock { $0 = m } }
    var value: PostedMessage? { stored.withLock { $0 } }
}
