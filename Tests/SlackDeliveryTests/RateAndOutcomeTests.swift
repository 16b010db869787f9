import Contracts
import SlackSink
import Testing

@testable import SlackDelivery

@Suite("Token bucket, rate audit and response classification (pure)")
struct RateAndOutcomeTests {
    let s: UInt64 = 1_000_000_000

    @Test func bucketAllowsBurstThenOnePerSecond() {
        var b = TokenBucket(limit: .slackDefault, now: 0)
        let burst = (0..<4).map { _ in b.tryTake(now: 0) }
        #expect(burst == [true, true, true, false])
        let next = b.nextTokenAt(now: 0)
        #expect(next == s)
        let early = b.tryTake(now: s - 1_000)
        let onTime = b.tryTake(now: s)
        #expect(!early && onTime)
        let after = b.nextTokenAt(now: s)
        #expect(after == 2 * s)
        // Idle for a long time refills only to the burst.
        let idle = (0..<4).map { _ in b.tryTake(now: 100 * s) }
        #expect(idle == [true, true, true, false])
    }

    @Test func restartAfterPauseGivesOneTokenAtTheEnd() {
        var b = TokenBucket(limit: .slackDefault, now: 0)
        b.restart(at: 5 * s)
        let at = b.nextTokenAt(now: 5 * s)
        #expect(at == 5 * s)
        let takes = (0..<2).map { _ in b.tryTake(now: 5 * s) }
        #expect(takes == [true, false])
    }

    @Test("a vanishing configured rate waits very long instead of trapping")
    func vanishingRateDoesNotTrap() {
        var b = TokenBucket(limit: RateLimit(perSecond: 1e-300, burst: 1), now: 5)
        let took = b.tryTake(now: 5)
        let next = b.nextTokenAt(now: 5)
        #expect(took)
        #expect(next > 5 + 1_000_000 * s && next < .max)
    }

    @Test func rateAuditFlagsArrivalsOverTheLimit() {
        let ok: [UInt64] = [0, 1, 2, s, 2 * s, 3 * s]
        #expect(RateAudit.violations(arrivals: ok, perSecond: 1, burst: 3, toleranceNanos: 0) == 0)
        let tooFast: [UInt64] = [0, 1, 2, 3, s / 2]
        #expect(RateAudit.violations(arrivals: tooFast, perSecond: 1, burst: 3, toleranceNanos: 0) == 2)
        let jitter: [UInt64] = [0, 1, 2, s - 5_000_000]
        #expect(RateAudit.violations(arrivals: jitter, perSecond: 1, burst: 3, toleranceNanos: 10_000_000) == 0)
    }

    let now = Timestamp(year: 2026, month: 11, day: 20, hour: 10)
    let c = ResponseClassifier(defaultRetryAfterSeconds: 5, transientBackoffSeconds: 1)

    func slack(_ status: Int, _ body: String, retryAfter: String? = nil) -> DeliveryOutcome {
        c.classify(.response(status: status, body: Array(body.utf8), retryAfter: retryAfter), kind: .slack, now: now)
    }

    @Test func slackAnswersMapToOutcomes() {
        #expect(slack(200, "ok") == .delivered(status: 200))
        #expect(
            slack(429, "rate_limited", retryAfter: " 30\r\n")
                == .retryLater(.rateLimited(retryAfterSeconds: 30), notBefore: now.adding(seconds: 30)))
        #expect(
            slack(429, "", retryAfter: nil)
                == .retryLater(.rateLimited(retryAfterSeconds: 5), notBefore: now.adding(seconds: 5)))
        #expect(
            slack(500, "internal_error") == .retryLater(.serverError(status: 500), notBefore: now.adding(seconds: 1)))
        #expect(slack(503, "") == .retryLater(.serverError(status: 503), notBefore: now.adding(seconds: 1)))
        #expect(slack(400, "invalid_payload") == .permanent(.invalidPayload))
        #expect(slack(400, "invalid_blocks") == .permanent(.invalidBlocks))
        #expect(slack(400, "no_text") == .permanent(.rejected(status: 400, slackError: "no_text")))
        #expect(slack(403, "action_prohibited") == .permanent(.forbidden(slackError: "action_prohibited")))
        #expect(slack(404, "no_service") == .permanent(.noService))
        #expect(slack(404, "channel_not_found") == .permanent(.channelNotFound))
        #expect(slack(410, "channel_is_archived") == .permanent(.channelIsArchived))
        #expect(slack(401, "<html>secret page</html>") == .permanent(.rejected(status: 401, slackError: nil)))
    }

    @Test func transportFailuresRetry() {
        #expect(
            c.classify(.failure(.timeout), kind: .slack, now: now)
                == .retryLater(.timeout, notBefore: now.adding(seconds: 1)))
        #expect(c.classify(.failure(.connection(detail: "x")), kind: .slack, now: now).code == "connection_failed")
        #expect(c.classify(.failure(.tls(detail: "x")), kind: .slack, now: now).code == "tls_failed")
        #expect(c.classify(.failure(.badURL), kind: .slack, now: now) == .permanent(.invalidURL))
    }

    @Test func genericWebhooksUseStatusOnly() {
        let r = c.classify(
            .response(status: 404, body: Array("no_service".utf8), retryAfter: nil), kind: .webhook, now: now)
        #expect(r == .permanent(.rejected(status: 404, slackError: "no_service")))
        #expect(
            c.classify(.response(status: 204, body: [], retryAfter: nil), kind: .webhook, now: now)
                == .delivered(status: 204))
    }
}
