import Contracts
import Foundation
import Logging
import SlackDelivery
import Stages
import Synchronization
import Testing
import WorkerRuntime

/// The dispatcher's `/feedback` path without a broker: a recorder that keeps what it is given.
@Suite struct FeedbackEndpointTests {
    static let secretText = "feedback-secret-0123456789abcdef-XYZ"
    static let secret = SigningSecret(secretText)
    /// 2026-11-20T00:00:00Z
    static let now = Timestamp(millisecondsSinceEpoch: 1_795_132_800_000)
    static let signer = FeedbackLinkSigner(baseURL: "https://fleet.example.com", secret: secret, lifetimeMs: 14 * 86_400_000)
    static let logger: Logger = { var l = Logger(label: "feedback-test"); l.logLevel = .critical; return l }()

    /// What the endpoint wrote, and whether the next write succeeds.
    final class Recorded: Sendable {
        let records = Mutex<[FeedbackRecord]>([])
        let failNext = Mutex(false)

        var all: [FeedbackRecord] { records.withLock { $0 } }

        func recorder() -> FeedbackEndpoint.Recorder {
            { record, done in
                let fail = self.failNext.withLock { f in defer { f = false }; return f }
                if fail { done(false); return }
                self.records.withLock { $0.append(record) }
                done(true)
            }
        }
    }

    static func endpoint(_ recorded: Recorded, at time: Timestamp = now) -> FeedbackEndpoint {
        FeedbackEndpoint(signer: signer, logger: logger, now: { time }, recorder: recorded.recorder())
    }

    static func link(_ verdict: FeedbackVerdict = .useful, expires: Timestamp = now.adding(days: 14)) -> FeedbackLink {
        FeedbackLink(alertId: "a1b2c3d4e5f60708", verdict: verdict, destination: "cs-escalations", rule: "enterprise_at_risk", expiresAt: expires)
    }

    static func query(of url: String) -> String {
        String(url[url.index(after: url.firstIndex(of: "?")!)...])
    }

    /// The reply, given synchronously by the test recorder.
    static func get(_ endpoint: FeedbackEndpoint, _ query: String, method: String = "GET") -> HTTPReply {
        let box = Mutex<HTTPReply?>(nil)
        endpoint.handle(method: method, query: query) { reply in box.withLock { $0 = reply } }
        return box.withLock { $0 }!
    }

    @Test func aValidLinkIsRecordedOnceAndItsReplayRefused() {
        let recorded = Recorded()
        let endpoint = Self.endpoint(recorded)
        let url = Self.signer.url(for: Self.link(.notUseful))
        let first = Self.get(endpoint, Self.query(of: url))
        #expect(first.status == 200)
        #expect(first.contentType.hasPrefix("text/html"))
        #expect(first.body.contains("not useful"))
        #expect(recorded.all == [FeedbackRecord(alertId: "a1b2c3d4e5f60708", rule: "enterprise_at_risk", destination: "cs-escalations",
                                                verdict: .notUseful, recordedAt: Self.now)])
        let again = Self.get(endpoint, Self.query(of: url))
        #expect(again.status == 409)
        #expect(recorded.all.count == 1)
    }

    @Test func forgedAlteredExpiredAndMalformedLinksAreRefusedAndRecordedNowhere() {
        let recorded = Recorded()
        let endpoint = Self.endpoint(recorded)
        let forger = FeedbackLinkSigner(baseURL: "https://fleet.example.com", secret: SigningSecret("another-secret-0123456789abcdef-XYZ"))
        let forged = Self.get(endpoint, Self.query(of: forger.url(for: Self.link())))
        #expect(forged.status == 403)
        // A genuine "useful" link turned into "not useful".
        let altered = Self.query(of: Self.signer.url(for: Self.link(.useful))).replacingOccurrences(of: "v=useful", with: "v=not_useful")
        #expect(Self.get(endpoint, altered).status == 403)
        let expired = Self.signer.url(for: Self.link(expires: Self.now.adding(seconds: -1)))
        #expect(Self.get(endpoint, Self.query(of: expired)).status == 410)
        let exactlyAtExpiry = Self.signer.url(for: Self.link(expires: Self.now))
        #expect(Self.get(endpoint, Self.query(of: exactlyAtExpiry)).status == 410)
        #expect(Self.get(endpoint, "a=x&v=useful").status == 400)
        #expect(Self.get(endpoint, "").status == 400)
        #expect(recorded.all.isEmpty)
    }

    @Test func aValidLinkAmongRefusedOnesGivesExactlyOneRecord() {
        let recorded = Recorded()
        let endpoint = Self.endpoint(recorded)
        let valid = Self.query(of: Self.signer.url(for: Self.link()))
        let forger = FeedbackLinkSigner(baseURL: "https://fleet.example.com", secret: SigningSecret("another-secret-0123456789abcdef-XYZ"))
        let statuses = [
            Self.get(endpoint, Self.query(of: forger.url(for: Self.link()))).status,
            Self.get(endpoint, Self.query(of: Self.signer.url(for: Self.link(expires: Self.now.adding(seconds: -60))))).status,
            Self.get(endpoint, valid).status,
            Self.get(endpoint, valid).status,
        ]
        #expect(statuses == [403, 410, 200, 409])
        #expect(recorded.all.count == 1)
        #expect(recorded.all.first?.verdict == .useful)
    }

    @Test func aRecordNotWrittenLetsTheLinkBeUsedAgain() {
        let recorded = Recorded()
        recorded.failNext.withLock { $0 = true }
        let endpoint = Self.endpoint(recorded)
        let valid = Self.query(of: Self.signer.url(for: Self.link()))
        #expect(Self.get(endpoint, valid).status == 503)
        #expect(recorded.all.isEmpty)
        #expect(Self.get(endpoint, valid).status == 200)
        #expect(Self.get(endpoint, valid).status == 409)
        #expect(recorded.all.count == 1)
    }

    @Test func onlyGetRecords() {
        let recorded = Recorded()
        let endpoint = Self.endpoint(recorded)
        let valid = Self.query(of: Self.signer.url(for: Self.link()))
        #expect(Self.get(endpoint, valid, method: "POST").status == 405)
        #expect(recorded.all.isEmpty)
        #expect(Self.get(endpoint, valid).status == 200)
    }

    @Test func noPageShowsTheSecretOrTheSignature() {
        let recorded = Recorded()
        let endpoint = Self.endpoint(recorded)
        let valid = Self.query(of: Self.signer.url(for: Self.link()))
        let signature = Self.signer.signature(of: Self.link())
        let pages = [Self.get(endpoint, valid), Self.get(endpoint, valid), Self.get(endpoint, "a=1&v=useful&d=x&r=y&exp=1&sig=AAAA")]
        for page in pages {
            #expect(!page.body.contains(Self.secretText))
            #expect(!page.body.contains(signature))
        }
        #expect(!"\(Self.signer)".contains(Self.secretText))
    }

    @Test func theRouteServesTheFeedbackPathOnly() {
        let route = Self.endpoint(Recorded()).route
        #expect(route.matches("/feedback"))
        #expect(route.matches("/feedback/"))
        #expect(!route.matches("/feedbackx"))
        #expect(!route.matches("/metrics"))
    }
}

/// `FEEDBACK_BASE_URL`, `FEEDBACK_SECRET`, `FEEDBACK_LINK_TTL`.
@Suite struct FeedbackSettingsTests {
    static let secret = "feedback-secret-0123456789abcdef-XYZ"

    @Test func offWithoutABaseURL() throws {
        #expect(try FeedbackSettings.fromEnvironment([:]) == nil)
        #expect(try FeedbackSettings.fromEnvironment(["FEEDBACK_SECRET": Self.secret]) == nil)
    }

    @Test func onWithBoth() throws {
        let s = try #require(try FeedbackSettings.fromEnvironment(["FEEDBACK_BASE_URL": "https://fleet.example.com/feedback/", "FEEDBACK_SECRET": Self.secret]))
        #expect(s.signer.baseURL == "https://fleet.example.com")
        #expect(s.signer.lifetimeMs == 14 * 86_400_000)
        let t = try #require(try FeedbackSettings.fromEnvironment(["FEEDBACK_BASE_URL": "https://x.example", "FEEDBACK_SECRET": Self.secret, "FEEDBACK_LINK_TTL": "36h"]))
        #expect(t.signer.lifetimeMs == 36 * 3_600_000)
        #expect(!"\(s)".contains(Self.secret))
    }

    @Test func refusalsNameTheVariableNeverTheSecret() {
        let cases: [([String: String], String)] = [
            (["FEEDBACK_BASE_URL": "https://x.example"], "FEEDBACK_SECRET"),
            (["FEEDBACK_BASE_URL": "https://x.example", "FEEDBACK_SECRET": "short-secret-value"], "FEEDBACK_SECRET"),
            (["FEEDBACK_BASE_URL": "ftp://x.example", "FEEDBACK_SECRET": Self.secret], "FEEDBACK_BASE_URL"),
            (["FEEDBACK_BASE_URL": "https://x.example", "FEEDBACK_SECRET": Self.secret, "FEEDBACK_LINK_TTL": "14"], "FEEDBACK_LINK_TTL"),
            (["FEEDBACK_BASE_URL": "https://x.example", "FEEDBACK_SECRET": Self.secret, "FEEDBACK_LINK_TTL": "91d"], "FEEDBACK_LINK_TTL"),
        ]
        for (env, key) in cases {
            do {
                _ = try FeedbackSettings.fromEnvironment(env)
                Issue.record("accepted \(key) case")
            } catch {
                #expect("\(error)".contains(key))
                #expect(!"\(error)".contains("short-secret-value"))
                #expect(!"\(error)".contains(Self.secret))
            }
        }
    }

    @Test func theDispatcherHelpListsThem() {
        let help = FleetStage.dispatcher.helpText
        for name in ["FEEDBACK_BASE_URL", "FEEDBACK_SECRET", "FEEDBACK_LINK_TTL", "/feedback", "alert-feedback"] {
            #expect(help.contains(name))
        }
    }
}

/// `dispatcher --check-config` (the chart's preflight) sees a feedback URL without its key.
@Suite struct FeedbackCheckConfigTests {
    @Test func aBaseURLWithoutTheSecretIsAProblem() {
        let problems = FleetStage.dispatcher.settingsProblems(env: ["FEEDBACK_BASE_URL": "https://fleet.example.com/feedback"])
        #expect(problems.map(\.key) == ["FEEDBACK_SECRET"])
        #expect(FleetStage.dispatcher.settingsProblems(env: [:]).isEmpty)
        #expect(FleetStage.evaluator.settingsProblems(env: ["FEEDBACK_BASE_URL": "https://fleet.example.com/feedback"]).isEmpty)
    }
}
