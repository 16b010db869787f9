import Contracts
import Foundation
import Logging
import MetricsTestKit
import SlackDelivery
import Stages
import Synchronization
import Testing
import WorkerRuntime

/// The dispatcher's `/slack/actions` path without a broker: a recorder that keeps what it is given.
@Suite struct SlackActionsEndpointTests {
    static let verifier = SlackRequestVerifier(secret: SigningSecret("slack-signing-secret-0123456789ab"))
    /// 2026-11-20T00:00:00Z
    static let now = Timestamp(millisecondsSinceEpoch: 1_795_132_800_000)
    static let logger: Logger = {
        var l = Logger(label: "slack-actions-test")
        l.logLevel = .critical
        return l
    }()

    /// What the endpoint wrote; `answer` decides each write (nil: never answers).
    final class Recorded: Sendable {
        let records = Mutex<[AlertActionRecord]>([])
        let answer: @Sendable () -> Bool?
        init(answer: @escaping @Sendable () -> Bool? = { true }) { self.answer = answer }

        var all: [AlertActionRecord] { records.withLock { $0 } }

        func recorder() -> SlackActionsEndpoint.Recorder {
            { record, done in
                guard let ok = self.answer() else { return }
                if ok { self.records.withLock { $0.append(record) } }
                done(ok)
            }
        }
    }

    /// A click on "I'll take it" as Slack sends it (`payload=` and the URL-encoded JSON).
    static func clickBody(actionTs: String = "1795132800.000100") -> [UInt8] {
        let value = #"{"a":"al-1","c":"acme","d":"cs-escalations","r":"account-at-risk"}"#
        let payload: [String: Any] = [
            "type": "block_actions", "user": ["id": "U024BE7LH"], "team": ["id": "T0001"],
            "actions": [["action_id": "alert_take", "value": value, "action_ts": actionTs]],
        ]
        let json = String(decoding: try! JSONSerialization.data(withJSONObject: payload), as: UTF8.self)
        return Array(("payload=" + json.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!).utf8)
    }

    static func request(_ body: [UInt8], signedAt seconds: Int64, signature: String? = nil, method: String = "POST")
        -> HTTPRequest
    {
        HTTPRequest(
            method: method, path: SlackActionsEndpoint.path, contentType: "application/x-www-form-urlencoded",
            body: body,
            headers: [
                "x-slack-request-timestamp": "\(seconds)",
                "x-slack-signature": signature ?? verifier.signature(timestamp: seconds, body: body),
            ])
    }

    /// The reply, awaited (bounded: the endpoint answers within its 2.5 s at most).
    static func reply(_ endpoint: SlackActionsEndpoint, _ request: HTTPRequest) async -> HTTPReply {
        await withCheckedContinuation { (done: CheckedContinuation<HTTPReply, Never>) in
            endpoint.handle(request) { done.resume(returning: $0) }
        }
    }

    static func endpoint(
        _ recorded: Recorded, _ metrics: TestMetrics, answerWithin: Duration = .seconds(2),
        deadline: @escaping SlackActionsEndpoint.Deadline = SlackActionsEndpoint.dispatchDeadline
    ) -> SlackActionsEndpoint {
        SlackActionsEndpoint(
            verifier: verifier, logger: logger, answerWithin: answerWithin, factory: metrics, clock: .fixed(now),
            deadline: deadline, recorder: recorded.recorder())
    }

    /// Deadlines that pass when the test says so.
    final class ManualDeadlines: Sendable {
        private let pending = Mutex<[(Duration, @Sendable () -> Void)]>([])
        var deadline: SlackActionsEndpoint.Deadline {
            { delay, fire in self.pending.withLock { $0.append((delay, fire)) } }
        }
        /// The delays asked for so far, not yet passed.
        var delays: [Duration] { pending.withLock { $0.map(\.0) } }
        /// Every deadline asked for so far passes.
        func passAll() {
            for (_, fire) in pending.withLock({ p in
                defer { p = [] }
                return p
            }) { fire() }
        }
    }

    static let nowSeconds = now.millisecondsSinceEpoch / 1000

    @Test func aSignedClickIsRecordedOnceAndItsReplayIgnored() async throws {
        let metrics = TestMetrics()
        let recorded = Recorded()
        let endpoint = Self.endpoint(recorded, metrics)
        let request = Self.request(Self.clickBody(), signedAt: Self.nowSeconds - 10)
        let first = await Self.reply(endpoint, request)
        #expect(first.status == 200)
        let replay = await Self.reply(endpoint, request)
        #expect(replay.status == 200, "a replay within the window is answered, not recorded again")
        #expect(recorded.all.count == 1)
        let record = try #require(recorded.all.first)
        #expect(record.kind == .take && record.by == "U024BE7LH" && record.accountId == "acme")
        #expect(record.alertId == "al-1" && record.at == Self.now && record.problem == nil)
        #expect(try metrics.expectCounter("fleet_slack_actions_total", [("outcome", "recorded")]).totalValue == 1)
        #expect(try metrics.expectCounter("fleet_slack_actions_total", [("outcome", "replayed")]).totalValue == 1)
        let other = await Self.reply(
            endpoint, Self.request(Self.clickBody(actionTs: "1795132801.1"), signedAt: Self.nowSeconds))
        #expect(other.status == 200 && recorded.all.count == 2, "another click is recorded")
    }

    @Test func forgedStaleAndUnsignedRequestsAreRefusedWith401AndCounted() async throws {
        let metrics = TestMetrics()
        let recorded = Recorded()
        let endpoint = Self.endpoint(recorded, metrics)
        let body = Self.clickBody()
        let forger = SlackRequestVerifier(secret: SigningSecret("not-the-secret-0123456789abcdefgh"))
        let forged = Self.request(
            body, signedAt: Self.nowSeconds, signature: forger.signature(timestamp: Self.nowSeconds, body: body))
        let stale = Self.request(body, signedAt: Self.nowSeconds - 301)
        var unsigned = Self.request(body, signedAt: Self.nowSeconds)
        unsigned.headers = [:]
        var altered = Self.request(body, signedAt: Self.nowSeconds)
        altered.body = Self.clickBody(actionTs: "1795132899.9")
        for request in [forged, stale, unsigned, altered] {
            let reply = await Self.reply(endpoint, request)
            #expect(reply.status == 401)
            #expect(!reply.body.contains("secret"))
        }
        #expect(recorded.all.isEmpty)
        func refused(_ reason: String) throws -> Int64 {
            try metrics.expectCounter("fleet_slack_signatures_refused_total", [("reason", reason)]).totalValue
        }
        #expect(try refused("bad_signature") == 2)
        #expect(try refused("stale") == 1)
        #expect(try refused("missing_headers") == 1)
    }

    @Test func aSignedBodyThatIsNoClickIsRefusedWith400() async throws {
        let metrics = TestMetrics()
        let recorded = Recorded()
        let endpoint = Self.endpoint(recorded, metrics)
        let reply = await Self.reply(endpoint, Self.request(Array("payload=%7B%7D".utf8), signedAt: Self.nowSeconds))
        #expect(reply.status == 400 && recorded.all.isEmpty)
        #expect(
            try metrics.expectCounter("fleet_slack_actions_total", [("outcome", "not_block_actions")]).totalValue == 1)
        let get = await Self.reply(endpoint, Self.request([], signedAt: Self.nowSeconds, method: "GET"))
        #expect(get.status == 405 && get.headers["allow"] == "POST")
    }

    /// A write that fails, or does not answer by its deadline, is answered 503 (once) and the click
    /// may be made again.
    @Test func aClickNotWrittenIsAnswered503AndMayBeMadeAgain() async throws {
        let metrics = TestMetrics()
        let attempts = Mutex(0)
        let recorded = Recorded(answer: {
            let n = attempts.withLock { a in
                a += 1
                return a
            }
            return n == 1 ? false : (n == 2 ? nil : true)
        })
        let deadlines = ManualDeadlines()
        let endpoint = Self.endpoint(recorded, metrics, answerWithin: .milliseconds(200), deadline: deadlines.deadline)
        let request = Self.request(Self.clickBody(), signedAt: Self.nowSeconds)
        let replies = Mutex<[Int]>([])
        // The write fails: 503 at once.
        endpoint.handle(request) { reply in replies.withLock { $0.append(reply.status) } }
        #expect(replies.withLock { $0 } == [503])
        #expect(deadlines.delays == [.milliseconds(200)])
        // The broker does not answer: nothing until the deadline passes, then 503, once.
        endpoint.handle(request) { reply in replies.withLock { $0.append(reply.status) } }
        #expect(replies.withLock { $0 } == [503], "answered before its deadline")
        deadlines.passAll()
        #expect(replies.withLock { $0 } == [503, 503], "the first click's deadline answered it a second time")
        // Made again: recorded.
        #expect(await Self.reply(endpoint, request).status == 200)
        #expect(recorded.all.count == 1)
        #expect(try metrics.expectCounter("fleet_slack_actions_total", [("outcome", "not_written")]).totalValue == 1)
        #expect(try metrics.expectCounter("fleet_slack_actions_total", [("outcome", "timed_out")]).totalValue == 1)
    }
}
