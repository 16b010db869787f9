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
    static let signer = FeedbackLinkSigner(
        baseURL: "https://fleet.example.com", secret: secret, lifetimeMs: 14 * 86_400_000)
    static let logger: Logger = {
        var l = Logger(label: "feedback-test")
        l.logLevel = .critical
        return l
    }()

    /// What the endpoint wrote, and whether the next write succeeds.
    final class Recorded: Sendable {
        let records = Mutex<[FeedbackRecord]>([])
        let failNext = Mutex(false)

        var all: [FeedbackRecord] { records.withLock { $0 } }

        func recorder() -> FeedbackEndpoint.Recorder {
            { record, done in
                let fail = self.failNext.withLock { f in
                    defer { f = false }
                    return f
                }
                if fail {
                    done(false)
                    return
                }
                self.records.withLock { $0.append(record) }
                done(true)
            }
        }
    }

    static func endpoint(_ recorded: Recorded, at time: Timestamp = now) -> FeedbackEndpoint {
        FeedbackEndpoint(signer: signer, logger: logger, clock: .fixed(time), recorder: recorded.recorder())
    }

    static func link(_ verdict: FeedbackVerdict = .useful, expires: Timestamp = now.adding(days: 14)) -> FeedbackLink {
        FeedbackLink(
            alertId: "a1b2c3d4e5f60708", verdict: verdict, destination: "cs-escalations", rule: "enterprise_at_risk",
            expiresAt: expires)
    }

    static func query(of url: String) -> String {
        String(url[url.index(after: url.firstIndex(of: "?")!)...])
    }

    /// The reply to a click (the POST of the link's fields), given synchronously by the test recorder.
    static func post(_ endpoint: FeedbackEndpoint, _ query: String) -> HTTPReply {
        get(endpoint, query, method: "POST")
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
        let first = Self.post(endpoint, Self.query(of: url))
        #expect(first.status == 200)
        #expect(first.contentType.hasPrefix("text/html"))
        #expect(first.body.contains("not useful"))
        #expect(
            recorded.all == [
                FeedbackRecord(
                    alertId: "a1b2c3d4e5f60708", rule: "enterprise_at_risk", destination: "cs-escalations",
                    verdict: .notUseful, recordedAt: Self.now, linkId: Self.link(.notUseful).id,
                    linkExpiresAt: Self.now.adding(days: 14))
            ])
        let again = Self.post(endpoint, Self.query(of: url))
        #expect(again.status == 409)
        #expect(recorded.all.count == 1)
    }

    @Test func forgedAlteredExpiredAndMalformedLinksAreRefusedAndRecordedNowhere() {
        let recorded = Recorded()
        let endpoint = Self.endpoint(recorded)
        let forger = FeedbackLinkSigner(
            baseURL: "https://fleet.example.com", secret: SigningSecret("another-secret-0123456789abcdef-XYZ"))
        let forged = Self.post(endpoint, Self.query(of: forger.url(for: Self.link())))
        #expect(forged.status == 403)
        // A genuine "useful" link turned into "not useful".
        let altered = Self.query(of: Self.signer.url(for: Self.link(.useful))).replacingOccurrences(
            of: "v=useful", with: "v=not_useful")
        #expect(Self.post(endpoint, altered).status == 403)
        let expired = Self.signer.url(for: Self.link(expires: Self.now.adding(seconds: -1)))
        #expect(Self.post(endpoint, Self.query(of: expired)).status == 410)
        let exactlyAtExpiry = Self.signer.url(for: Self.link(expires: Self.now))
        #expect(Self.post(endpoint, Self.query(of: exactlyAtExpiry)).status == 410)
        #expect(Self.post(endpoint, "a=x&v=useful").status == 400)
        #expect(Self.post(endpoint, "").status == 400)
        #expect(recorded.all.isEmpty)
    }

    @Test func aValidLinkAmongRefusedOnesGivesExactlyOneRecord() {
        let recorded = Recorded()
        let endpoint = Self.endpoint(recorded)
        let valid = Self.query(of: Self.signer.url(for: Self.link()))
        let forger = FeedbackLinkSigner(
            baseURL: "https://fleet.example.com", secret: SigningSecret("another-secret-0123456789abcdef-XYZ"))
        let statuses = [
            Self.post(endpoint, Self.query(of: forger.url(for: Self.link()))).status,
            Self.post(endpoint, Self.query(of: Self.signer.url(for: Self.link(expires: Self.now.adding(seconds: -60)))))
                .status,
            Self.post(endpoint, valid).status,
            Self.post(endpoint, valid).status,
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
        #expect(Self.post(endpoint, valid).status == 503)
        #expect(recorded.all.isEmpty)
        #expect(Self.post(endpoint, valid).status == 200)
        #expect(Self.post(endpoint, valid).status == 409)
        #expect(recorded.all.count == 1)
    }

    /// Issue 22 row 5: link unfurlers, mail scanners and previewers GET every link of a message.
    /// A GET shows the confirmation page (a form posting the same signed fields) and records
    /// nothing, however often; so does HEAD.
    @Test func aGetShowsTheConfirmationPageAndRecordsNothing() {
        let recorded = Recorded()
        let endpoint = Self.endpoint(recorded)
        let link = Self.link(.notUseful)
        let valid = Self.query(of: Self.signer.url(for: link))
        for method in ["GET", "GET", "HEAD"] {
            let page = Self.get(endpoint, valid, method: method)
            #expect(page.status == 200, "\(method): \(page.status)")
            #expect(page.contentType.hasPrefix("text/html"))
            #expect(
                page.body.contains("<form method=\"post\" action=\"https://fleet.example.com/feedback\">"),
                "\(page.body)")
            for (name, value) in [
                ("a", link.alertId), ("v", "not_useful"), ("d", link.destination), ("r", link.rule),
                ("sig", Self.signer.signature(of: link)),
            ] {
                #expect(page.body.contains("<input type=\"hidden\" name=\"\(name)\" value=\"\(value)\">"), "no \(name)")
            }
            #expect(page.body.contains("not useful"))
        }
        #expect(recorded.all.isEmpty, "a GET recorded \(recorded.all.count) verdicts")
        #expect(endpoint.rememberedLinks == 0)
        // A forged or expired link is refused on GET too, without a form.
        let forger = FeedbackLinkSigner(
            baseURL: "https://fleet.example.com", secret: SigningSecret("another-secret-0123456789abcdef-XYZ"))
        let forged = Self.get(endpoint, Self.query(of: forger.url(for: Self.link())), method: "GET")
        #expect(forged.status == 403 && !forged.body.contains("<form"))
        #expect(
            Self.get(endpoint, Self.query(of: Self.signer.url(for: Self.link(expires: Self.now))), method: "GET").status
                == 410)
    }

    /// The POST the confirmation page's button sends records the verdict, once per link.
    @Test func onlyAPostRecordsAndOnlyOnce() {
        let recorded = Recorded()
        let endpoint = Self.endpoint(recorded)
        let valid = Self.query(of: Self.signer.url(for: Self.link()))
        #expect(Self.get(endpoint, valid, method: "GET").status == 200)
        #expect(recorded.all.isEmpty)
        #expect(Self.get(endpoint, valid, method: "POST").status == 200)
        #expect(recorded.all.count == 1)
        #expect(Self.get(endpoint, valid, method: "POST").status == 409)
        // Once used, the GET says so instead of offering the form again.
        let after = Self.get(endpoint, valid, method: "GET")
        #expect(after.status == 409 && !after.body.contains("<form"))
        #expect(recorded.all.count == 1)
    }

    /// The form as a browser sends it: the hidden fields form-encoded in the body (a space as
    /// `+`, a `+` as `%2B`), the URL without a query.
    @Test func theConfirmationFormPostedAsABrowserDoesRecords() throws {
        let recorded = Recorded()
        let endpoint = Self.endpoint(recorded)
        let link = FeedbackLink(
            alertId: "a1b2c3d4e5f60708", verdict: .useful, destination: "cs escalations",
            rule: "at+risk & more", expiresAt: Self.now.adding(days: 14))
        let page = Self.get(endpoint, Self.query(of: Self.signer.url(for: link)), method: "GET")
        #expect(page.status == 200)
        let regex = try Regex(#"<input type="hidden" name="([a-z]+)" value="([^"]*)">"#)
        var fields: [String] = []
        for match in page.body.matches(of: regex) {
            let name = String(match.output[1].substring ?? "")
            let value = String(match.output[2].substring ?? "").replacingOccurrences(of: "&amp;", with: "&")
            var allowed = CharacterSet.alphanumerics
            allowed.insert(" ")
            let encoded = (value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "").replacingOccurrences(
                of: " ", with: "+")
            fields.append("\(name)=\(encoded)")
        }
        #expect(fields.count == 6)
        let box = Mutex<HTTPReply?>(nil)
        endpoint.handle(
            HTTPRequest(
                method: "POST", path: "/feedback", contentType: "application/x-www-form-urlencoded",
                body: Array(fields.joined(separator: "&").utf8))
        ) { reply in box.withLock { $0 = reply } }
        #expect(box.withLock { $0 }?.status == 200)
        #expect(recorded.all.map(\.linkId) == [link.id])
        #expect(recorded.all.first?.rule == "at+risk & more" && recorded.all.first?.destination == "cs escalations")
    }

    /// Any other method is 405 with `allow`, records nothing.
    @Test func otherMethodsAreNotAllowed() {
        let recorded = Recorded()
        let endpoint = Self.endpoint(recorded)
        let valid = Self.query(of: Self.signer.url(for: Self.link()))
        for method in ["PUT", "DELETE", "PATCH", "OPTIONS"] {
            let reply = Self.get(endpoint, valid, method: method)
            #expect(reply.status == 405, "\(method)")
            #expect(reply.headers["allow"] == "GET, HEAD, POST", "\(method)")
        }
        #expect(recorded.all.isEmpty)
    }

    @Test func noPageShowsTheSecretOrTheSignature() {
        let recorded = Recorded()
        let endpoint = Self.endpoint(recorded)
        let valid = Self.query(of: Self.signer.url(for: Self.link()))
        let signature = Self.signer.signature(of: Self.link())
        // The confirmation page carries the link's own signature (the form posts it back, as the
        // URL already did), never the secret.
        let confirmation = Self.get(endpoint, valid, method: "GET")
        #expect(!confirmation.body.contains(Self.secretText))
        #expect(confirmation.body.components(separatedBy: signature).count == 2)
        let pages = [
            Self.post(endpoint, valid), Self.post(endpoint, valid),
            Self.post(endpoint, "a=1&v=useful&d=x&r=y&exp=1&sig=AAAA"),
        ]
        for page in pages {
            #expect(!page.body.contains(Self.secretText))
            #expect(!page.body.contains(signature))
        }
        #expect(!"\(Self.signer)".contains(Self.secretText))
    }

    /// A stand-in for the ledger: what the other replicas recorded, fed to the endpoint when a
    /// click waits for the catch-up, and whether the catch-up succeeds.
    final class OtherReplicas: Sendable {
        let pending = Mutex<[FeedbackRecord]>([])
        let caughtUp = Mutex(true)
        let waits = Mutex(0)

        func catchUp(feeding endpoint: @escaping @Sendable () -> FeedbackEndpoint?) -> FeedbackEndpoint.CatchUp {
            { done in
                self.waits.withLock { $0 += 1 }
                guard self.caughtUp.withLock({ $0 }) else {
                    done(false)
                    return
                }
                let records = self.pending.withLock { p in
                    defer { p = [] }
                    return p
                }
                if let endpoint = endpoint() { for r in records { endpoint.remember(r) } }
                done(true)
            }
        }
    }

    static func sharedEndpoint(_ recorded: Recorded, _ others: OtherReplicas) -> FeedbackEndpoint {
        let box = Mutex<FeedbackEndpoint?>(nil)
        let endpoint = FeedbackEndpoint(
            signer: signer, logger: logger, clock: .fixed(now), catchUp: others.catchUp { box.withLock { $0 } },
            recorder: recorded.recorder())
        box.withLock { $0 = endpoint }
        return endpoint
    }

    @Test func aLinkRecordedByAnotherReplicaIsRefusedOnceTheLedgerCaughtUp() {
        let recorded = Recorded()
        let others = OtherReplicas()
        let endpoint = Self.sharedEndpoint(recorded, others)
        // Another replica (or this one before a restart) recorded the click; the record reaches
        // this replica's ledger only while the click waits for the catch-up.
        others.pending.withLock { $0 = [Self.link(.useful).record(at: Self.now.adding(seconds: -5))] }
        let valid = Self.query(of: Self.signer.url(for: Self.link(.useful)))
        #expect(Self.post(endpoint, valid).status == 409)
        #expect(recorded.all.isEmpty)
        // The other verdict is another link: accepted, after its own catch-up.
        #expect(Self.post(endpoint, Self.query(of: Self.signer.url(for: Self.link(.notUseful)))).status == 200)
        #expect(recorded.all.map(\.verdict) == [.notUseful])
        #expect(others.waits.withLock { $0 } == 2)
        // A link known already is refused without waiting for the ledger.
        #expect(Self.post(endpoint, valid).status == 409)
        #expect(others.waits.withLock { $0 } == 2)
    }

    @Test func notCaughtUpInTimeIsTryAgainAndRecordsNothing() {
        let recorded = Recorded()
        let others = OtherReplicas()
        others.caughtUp.withLock { $0 = false }
        let endpoint = Self.sharedEndpoint(recorded, others)
        let valid = Self.query(of: Self.signer.url(for: Self.link()))
        let busy = Self.post(endpoint, valid)
        #expect(busy.status == 503 && busy.body.contains("try the link again"))
        #expect(recorded.all.isEmpty && endpoint.rememberedLinks == 0)
        // Forged and expired links are refused before any wait.
        let forger = FeedbackLinkSigner(
            baseURL: "https://fleet.example.com", secret: SigningSecret("another-secret-0123456789abcdef-XYZ"))
        #expect(Self.post(endpoint, Self.query(of: forger.url(for: Self.link()))).status == 403)
        #expect(Self.post(endpoint, Self.query(of: Self.signer.url(for: Self.link(expires: Self.now)))).status == 410)
        #expect(others.waits.withLock { $0 } == 1)
        // Once the ledger is back, the same link works, once.
        others.caughtUp.withLock { $0 = true }
        #expect(Self.post(endpoint, valid).status == 200)
        #expect(Self.post(endpoint, valid).status == 409)
        #expect(recorded.all.count == 1)
    }

    @Test func recordsWithoutALinkIdOrOfExpiredLinksAreNotRemembered() {
        let endpoint = Self.endpoint(Recorded())
        endpoint.remember(
            FeedbackRecord(alertId: "a", rule: "r", destination: "d", verdict: .useful, recordedAt: Self.now))
        endpoint.remember(Self.link(expires: Self.now.adding(seconds: -1)).record(at: Self.now.adding(days: -1)))
        #expect(endpoint.rememberedLinks == 0)
        endpoint.remember(Self.link().record(at: Self.now))
        endpoint.remember(Self.link().record(at: Self.now))
        #expect(endpoint.rememberedLinks == 1)
    }

    /// A link signed before a rotation (now `FEEDBACK_SECRET_PREVIOUS`) still works, once.
    @Test func aRotatedEndpointAcceptsLinksSignedWithThePreviousSecret() throws {
        let settings = try #require(
            try FeedbackSettings.fromEnvironment([
                "FEEDBACK_BASE_URL": "https://fleet.example.com",
                "FEEDBACK_SECRET": "rotated-feedback-secret-0123456789-ABC",
                "FEEDBACK_SECRET_PREVIOUS": Self.secretText,
            ]))
        let recorded = Recorded()
        let endpoint = FeedbackEndpoint(
            signer: settings.signer, logger: Self.logger, clock: .fixed(Self.now), recorder: recorded.recorder())
        let posted = Self.query(of: Self.signer.url(for: Self.link()))
        #expect(Self.post(endpoint, posted).status == 200)
        #expect(Self.post(endpoint, posted).status == 409)
        // The same link signed with the new secret is the same link: a replay.
        #expect(Self.post(endpoint, Self.query(of: settings.signer.url(for: Self.link()))).status == 409)
        #expect(recorded.all.count == 1)
        #expect(!"\(settings)".contains(Self.secretText) && !"\(settings)".contains("rotated-feedback-secret"))
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
        let s = try #require(
            try FeedbackSettings.fromEnvironment([
                "FEEDBACK_BASE_URL": "https://fleet.example.com/feedback/", "FEEDBACK_SECRET": Self.secret,
            ]))
        #expect(s.signer.baseURL == "https://fleet.example.com")
        #expect(s.signer.lifetimeMs == 14 * 86_400_000)
        let t = try #require(
            try FeedbackSettings.fromEnvironment([
                "FEEDBACK_BASE_URL": "https://x.example", "FEEDBACK_SECRET": Self.secret, "FEEDBACK_LINK_TTL": "36h",
            ]))
        #expect(t.signer.lifetimeMs == 36 * 3_600_000)
        #expect(!"\(s)".contains(Self.secret))
    }

    @Test func refusalsNameTheVariableNeverTheSecret() {
        let cases: [([String: String], String)] = [
            (["FEEDBACK_BASE_URL": "https://x.example"], "FEEDBACK_SECRET"),
            (["FEEDBACK_BASE_URL": "https://x.example", "FEEDBACK_SECRET": "short-secret-value"], "FEEDBACK_SECRET"),
            (["FEEDBACK_BASE_URL": "ftp://x.example", "FEEDBACK_SECRET": Self.secret], "FEEDBACK_BASE_URL"),
            (
                ["FEEDBACK_BASE_URL": "https://x.example", "FEEDBACK_SECRET": Self.secret, "FEEDBACK_LINK_TTL": "14"],
                "FEEDBACK_LINK_TTL"
            ),
            (
                ["FEEDBACK_BASE_URL": "https://x.example", "FEEDBACK_SECRET": Self.secret, "FEEDBACK_LINK_TTL": "91d"],
                "FEEDBACK_LINK_TTL"
            ),
            (
                [
                    "FEEDBACK_BASE_URL": "https://x.example", "FEEDBACK_SECRET": Self.secret,
                    "FEEDBACK_LINK_TTL": "2200h",
                ], "FEEDBACK_LINK_TTL"
            ),
            (
                [
                    "FEEDBACK_BASE_URL": "https://x.example", "FEEDBACK_SECRET": Self.secret,
                    "FEEDBACK_SECRET_PREVIOUS": "short-secret-value",
                ], "FEEDBACK_SECRET_PREVIOUS"
            ),
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
        for name in [
            "FEEDBACK_BASE_URL", "FEEDBACK_SECRET", "FEEDBACK_SECRET_PREVIOUS", "FEEDBACK_LINK_TTL", "/feedback",
            "alert-feedback",
        ] {
            #expect(help.contains(name))
        }
    }

    /// The memory of used links is `alert-feedback` itself: its retention in the catalog must
    /// exceed the longest link lifetime the dispatcher accepts (a longer one is refused at start).
    @Test func theFeedbackTopicOutlivesEveryLink() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let path = root.appendingPathComponent("topics/topics.yaml").path
        let catalog = try TopicCatalog.parse(String(contentsOfFile: path, encoding: .utf8), file: path)
        let topic = try #require(catalog.topics.first { $0.name == "alert-feedback" })
        let retention = try #require(topic.configs["retention.ms"].flatMap { Int64($0) })
        #expect(retention > FeedbackSettings.maximumLifetimeMs)
        #expect(FeedbackSettings.minimumFeedbackRetentionMs >= FeedbackSettings.maximumLifetimeMs)
        #expect(
            try FeedbackSettings.fromEnvironment([
                "FEEDBACK_BASE_URL": "https://x.example", "FEEDBACK_SECRET": Self.secret, "FEEDBACK_LINK_TTL": "90d",
            ])?
            .signer.lifetimeMs == FeedbackSettings.maximumLifetimeMs)
    }
}

/// `dispatcher --check-config` (the chart's preflight) sees a feedback URL without its key.
@Suite struct FeedbackCheckConfigTests {
    @Test func aBaseURLWithoutTheSecretIsAProblem() {
        let problems = FleetStage.dispatcher.settingsProblems(env: [
            "FEEDBACK_BASE_URL": "https://fleet.example.com/feedback"
        ])
        #expect(problems.map(\.key) == ["FEEDBACK_SECRET"])
        #expect(FleetStage.dispatcher.settingsProblems(env: [:]).isEmpty)
        #expect(
            FleetStage.evaluator.settingsProblems(env: ["FEEDBACK_BASE_URL": "https://fleet.example.com/feedback"])
                .isEmpty)
    }
}
