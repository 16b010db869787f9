import Contracts
import Foundation
import SlackSink
import Testing

@testable import SlackDelivery

/// Slack app destinations (`slack_app`): Web API answers, the `chat.postMessage` body with its
/// metadata, the configuration keys, and posting and looking up against the sink's Web API.
@Suite("Slack app destinations (chat.postMessage, conversations.history)")
struct SlackAppTests {
    static let token = "fake-bot-token-for-unit-tests"
    let now = Timestamp(millisecondsSinceEpoch: 1_800_000_000_000)

    @Test("Web API answers: ok delivered, retryable errors retried, the rest permanent with Slack's code")
    func classification() {
        let c = ResponseClassifier()
        func answer(_ body: String, status: Int = 200, retryAfter: String? = nil) -> DeliveryOutcome {
            c.classify(
                .response(status: status, body: Array(body.utf8), retryAfter: retryAfter), kind: .slackApp, now: now)
        }
        #expect(
            answer(#"{"ok":true,"channel":"C1","ts":"1.000001","message":{"text":"x"}}"#) == .delivered(status: 200))
        #expect(answer(#"{ "ok" : true }"#).isDelivered)
        #expect(answer(#"{"ok":false,"error":"channel_not_found"}"#) == .permanent(.channelNotFound))
        #expect(answer(#"{"ok":false,"error":"is_archived"}"#) == .permanent(.channelIsArchived))
        #expect(answer(#"{"ok":false,"error":"invalid_blocks"}"#) == .permanent(.invalidBlocks))
        for e in ["not_in_channel", "invalid_auth", "token_revoked", "account_inactive", "msg_too_long"] {
            #expect(answer(#"{"ok":false,"error":"\#(e)"}"#) == .permanent(.slackAPIError(error: e)))
            #expect(answer(#"{"ok":false,"error":"\#(e)"}"#).code == e)
        }
        for e in ["internal_error", "fatal_error", "service_unavailable", "request_timeout"] {
            guard case .retryLater(.slackAPIError(let error), _) = answer(#"{"ok":false,"error":"\#(e)"}"#) else {
                Issue.record("\(e) is not retried")
                continue
            }
            #expect(error == e)
        }
        // 429 is a rate limit with its Retry-After, as for webhooks; 5xx retried.
        #expect(
            answer("", status: 429, retryAfter: "7")
                == .retryLater(.rateLimited(retryAfterSeconds: 7), notBefore: now.adding(milliseconds: 7000)))
        #expect(answer("upstream", status: 503).code == "http_503")
        // Not a Web API answer (a proxy's page): retried, never echoed.
        #expect(answer("<html>ok</html>").code == "unreadable_answer")
        // An error code that is not [a-z0-9_] is not echoed.
        #expect(answer(#"{"ok":false,"error":"<script>"}"#) == .permanent(.slackAPIError(error: "unknown_error")))
    }

    @Test("chat.postMessage body: the webhook message plus channel and metadata with every alert id")
    func renderingWithMetadata() throws {
        let renderer = SlackMessageRenderer()
        let a = Fixtures.alert(.customerAtRisk, destination: "app")
        var b = Fixtures.alert(.healthScoreDrop, destination: "app")
        b.alertId = "al-drop-2"
        let group = try AlertGroup([a, b])
        let body = renderer.renderForWebAPI(group, channel: "C0123ABCD")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        #expect(json["channel"] as? String == "C0123ABCD")
        let metadata = try #require(json["metadata"] as? [String: Any])
        #expect(metadata["event_type"] as? String == "account_health_alert")
        #expect((metadata["event_payload"] as? [String: Any])?["alert_ids"] as? [String] == group.alertIds)
        // The rest is exactly the webhook message.
        let webhook = try #require(
            try JSONSerialization.jsonObject(with: Data(renderer.render(group))) as? [String: Any])
        #expect(Set(json.keys) == Set(webhook.keys).union(["channel", "metadata"]))
        #expect(json["text"] as? String == webhook["text"] as? String)
        #expect(BlockKitValidator.validate(message: renderer.render(group)) == [])
        let single = try #require(
            try JSONSerialization.jsonObject(with: Data(renderer.renderForWebAPI(a, channel: "C1"))) as? [String: Any])
        #expect(
            ((single["metadata"] as? [String: Any])?["event_payload"] as? [String: Any])?["alert_ids"] as? [String] == [
                a.alertId
            ])
    }

    @Test("history pages: alert ids from the fleet's metadata only, the cursor while has_more, the query escaped")
    func historyPage() throws {
        let body =
            #"{"ok":true,"messages":[{"ts":"2.0","metadata":{"event_type":"account_health_alert","event_payload":{"alert_ids":["a1","a2"]}}},"#
            + #"{"ts":"1.0","metadata":{"event_type":"other","event_payload":{"alert_ids":["zz"]}}},{"ts":"0.5","text":"no metadata"}],"#
            + #""has_more":true,"response_metadata":{"next_cursor":"bmV4dA=="}}"#
        let page = try #require(HistoryPage.parse(Array(body.utf8)))
        #expect(page.messageAlertIds == [["a1", "a2"]])
        #expect(page.nextCursor == "bmV4dA==")
        #expect(
            HistoryPage.parse(
                Array(#"{"ok":true,"messages":[],"has_more":false,"response_metadata":{"next_cursor":""}}"#.utf8))?
                .nextCursor == nil)
        #expect(HistoryPage.parse(Array(#"{"ok":false,"error":"not_in_channel"}"#.utf8)) == nil)
        let q = HistoryPage.query(channel: "C1", oldestMilliseconds: 1_800_000_000_123, limit: 200, cursor: "a+b/c=")
        #expect(
            q
                == "/conversations.history?channel=C1&oldest=1800000000.123000&include_all_metadata=true&limit=200&cursor=a%2Bb%2Fc%3D"
        )
        #expect(
            HistoryPage.query(
                channel: "C1", oldestMilliseconds: 1_000, latestMilliseconds: 2_500, limit: 5, cursor: nil)
                == "/conversations.history?channel=C1&oldest=1.000000&latest=2.500000&include_all_metadata=true&limit=5"
        )
    }

    @Test("destinations file: slack_app needs token and channel id; the token is a secret; other kinds refuse the keys")
    func configuration() throws {
        let yaml = """
            destinations:
              app:
                type: slack_app
                token: ${SLACK_BOT_TOKEN}
                channel: C0123ABCD
              local:
                type: slack_app
                token: ${SLACK_BOT_TOKEN}
                channel: C0LOCAL
                api_url: http://127.0.0.1:9099/api/
                allow_insecure_http: true
            """
        let file = try DestinationsFile.parse(yaml: yaml, file: "d.yaml", environment: ["SLACK_BOT_TOKEN": Self.token])
        let app = try #require(file["app"])
        #expect(app.kind == .slackApp && app.channel == "C0123ABCD")
        #expect(app.url.secret == "https://slack.com/api")
        #expect(app.botToken?.secret == Self.token)
        #expect(
            !"\(app)".contains(Self.token) && !"\(String(reflecting: app))".contains(Self.token)
                && !"\(app.botToken!)".contains(Self.token))
        #expect(file["local"]?.url.secret == "http://127.0.0.1:9099/api")
        // SLACK_API_URL moves every slack_app destination without api_url.
        let moved = try DestinationsFile.parse(
            yaml: yaml, file: "d.yaml",
            environment: ["SLACK_BOT_TOKEN": Self.token, "SLACK_API_URL": "https://proxy.example.com/api"])
        #expect(moved["app"]?.url.secret == "https://proxy.example.com/api")

        func problems(_ y: String, env: [String: String] = ["SLACK_BOT_TOKEN": Self.token]) -> [String] {
            DestinationsFile.check(yaml: y, file: "d.yaml", environment: env).problems.map { "\($0)" }
        }
        let missing = problems("destinations:\n  app:\n    type: slack_app\n")
        #expect(missing.contains { $0.contains("destinations.app.token") && $0.contains("missing") })
        #expect(missing.contains { $0.contains("destinations.app.channel") && $0.contains("missing") })
        let unset = problems(
            "destinations:\n  app:\n    type: slack_app\n    token: ${SLACK_BOT_TOKEN}\n    channel: C1\n", env: [:])
        #expect(unset.contains { $0.contains("SLACK_BOT_TOKEN") })
        #expect(
            problems(
                "destinations:\n  app:\n    type: slack_app\n    token: ${SLACK_BOT_TOKEN}\n    channel: '#alerts'\n"
            ).contains { $0.contains("channel id") })
        #expect(
            problems(
                "destinations:\n  app:\n    type: slack_app\n    token: ${SLACK_BOT_TOKEN}\n    channel: C1\n    url: https://hooks.example.com/x\n"
            )
            .contains { $0.contains("destinations.app.url") })
        #expect(
            problems("destinations:\n  hook:\n    url: https://hooks.example.com/x\n    token: ${SLACK_BOT_TOKEN}\n")
                .contains { $0.contains("only 'slack_app'") })
        // A problem never prints the token.
        #expect(
            !problems("destinations:\n  app:\n    type: slack_app\n    token: ${SLACK_BOT_TOKEN}\n    channel: nope\n")
                .joined().contains(Self.token))
    }

    @Test(
        "against the sink: posted with the bearer token and metadata; looked up by alert id; Web API refusals classified"
    )
    func postAndLookUp() async throws {
        let sink = SlackSink()
        let port = try await sink.start()
        sink.expectBotToken(Self.token)
        let api = try Destination(name: "x", url: "http://127.0.0.1:\(port)/api", allowInsecureHTTP: true).url
        let destinations = [
            Destination(
                name: "app", apiURL: api, token: BotToken(Self.token), channel: "C0APP",
                rateLimit: RateLimit(perSecond: 100, burst: 100)),
            Destination(
                name: "wrong", apiURL: api, token: BotToken("another-fake-token"), channel: "C0APP",
                rateLimit: RateLimit(perSecond: 100, burst: 100)),
        ]
        let deliverer = try SlackDeliverer(
            destinations: destinations, settings: SinkHarness.fastSettings(), logger: SinkHarness.quietLogger)
        let alert = Fixtures.alert(.customerAtRisk, destination: "app")
        #expect(await deliverer.submit(alert) == .delivered(status: 200))
        let request = try #require(sink.requests(path: "/api/chat.postMessage").first)
        #expect(request.headers["authorization"] == "Bearer \(Self.token)")
        #expect(sink.storedMessages().map(\.alertIds) == [[alert.alertId]])
        #expect(sink.storedMessages().first?.channel == "C0APP")
        // Another token: invalid_auth, permanent with Slack's code.
        #expect(await deliverer.submit(alert, to: "wrong") == .permanent(.slackAPIError(error: "invalid_auth")))

        func lookUp(_ ids: Set<String>, oldest: Int64 = 0, latest: Int64? = nil) async -> PostedMessageLookup {
            await withCheckedContinuation { c in
                deliverer.findPosted(
                    alertIds: ids, destination: "app", oldestMilliseconds: oldest, latestMilliseconds: latest
                ) { c.resume(returning: $0) }
            }
        }
        #expect(await lookUp([alert.alertId, "other"]) == .found([alert.alertId]))
        #expect(await lookUp(["never-posted"]) == .notFound(pages: 1, complete: true))
        // Only messages after `oldest`.
        let later = Int64(Date().timeIntervalSince1970 * 1000) + 60_000
        #expect(await lookUp([alert.alertId], oldest: later) == .notFound(pages: 1, complete: true))
        // Only messages up to `latest`.
        #expect(await lookUp([alert.alertId], latest: 1_000) == .notFound(pages: 1, complete: true))
        #expect(await lookUp([alert.alertId], latest: later) == .found([alert.alertId]))
        // Paginated: 450 more messages (3 pages of 200) and the first one is still found.
        for n in 0..<450 {
            var filler = Fixtures.alert(.healthScoreDrop, destination: "app")
            filler.alertId = "filler-\(n)"
            #expect(await deliverer.submit(filler) == .delivered(status: 200))
        }
        #expect(await lookUp([alert.alertId]) == .found([alert.alertId]))
        #expect(sink.requests(path: "/api/conversations.history").suffix(3).count == 3)
        #expect(
            sink.requests(path: "/api/conversations.history").allSatisfy {
                $0.headers["authorization"] == "Bearer \(Self.token)"
            })
        // Scripted failures of the Web API: 429, channel_not_found, 5xx.
        sink.script(
            path: "/api/chat.postMessage",
            [.rateLimited(retryAfterSeconds: 1), .apiError("channel_not_found"), .serverError])
        #expect(await deliverer.submit(alert).code == "rate_limited")
        #expect(await deliverer.submit(alert) == .permanent(.channelNotFound))
        #expect(await deliverer.submit(alert).code == "http_500")
        sink.script(path: "/api/conversations.history", [.serverError])
        guard case .failed(let outcome) = await lookUp([alert.alertId]) else {
            Issue.record("a failed look-up must say so")
            return
        }
        #expect(outcome.code == "http_500")
        await deliverer.shutdown()
        await sink.stop()
    }
}
