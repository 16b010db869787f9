import Contracts
import Foundation
import Testing

@testable import SlackDelivery

/// Email destinations against a real SMTP server (aiosmtpd on 127.0.0.1, see `SMTPTestServer`),
/// through the same engine, rate limits and outcomes as every destination.
@Suite(
    "Email destinations over SMTP (aiosmtpd)",
    .enabled(if: SMTPTestServer.python != nil || SMTPTestServer.required, SMTPTestServer.skipReason))
struct EmailSMTPTests {
    static let password = "pa55-SECRET-word-0123"

    /// An email destination `mail` to `to` on `server`, with credentials when `user` is given.
    static func deliverer(
        _ server: SMTPTestServer, to: [String], user: String? = nil, password: String = EmailSMTPTests.password,
        insecure: Bool = true, logger handler: RecordingLogHandler = RecordingLogHandler()
    ) throws -> SlackDeliverer {
        var yaml = """
            destinations:
              mail:
                type: email
                smtp_url: ${SMTP_URL}
                from: alerts@fleet.example.com
                to: [\(to.joined(separator: ", "))]
                rate_per_second: 50
                burst: 10

            """
        if insecure { yaml += "    allow_insecure_smtp: true\n" }
        var env = ["SMTP_URL": server.url]
        if let user {
            yaml += "    username: ${SMTP_USERNAME}\n    password: ${SMTP_PASSWORD}\n"
            env["SMTP_USERNAME"] = user
            env["SMTP_PASSWORD"] = password
        }
        let file = try DestinationsFile.parse(yaml: yaml, file: "destinations.yaml", environment: env)
        var settings = EngineSettings()
        settings.totalTimeoutMilliseconds = 15_000
        return try SlackDeliverer(destinations: file.destinations, settings: settings, logger: handler.logger())
    }

    static func hostileAlert() -> AlertRecord {
        var alert = Fixtures.alert(.customerAtRisk, destination: "mail")
        alert.score = Fixtures.score(name: "<script>alert(1)</script> Smith & Sons")
        return alert
    }

    static func server(user: String? = nil) async throws -> SMTPTestServer {
        guard SMTPTestServer.python != nil else {
            // Only reached when FLEET_REQUIRE_SMTP_TESTS=1 (scripts/test, CI): fail with the fix.
            Issue.record("\(SMTPTestServer.skipReason) but FLEET_REQUIRE_SMTP_TESTS=1 requires them")
            throw SMTPTestServer.ServerError("no venv")
        }
        return try await SMTPTestServer.start(user: user, password: user == nil ? nil : password)
    }

    @Test(
        "a message arrives with both parts, its subject, addresses and Message-ID, HTML escaped; AUTH reaches the server and the password no log line"
    )
    func deliversMultipartAlternative() async throws {
        let server = try await Self.server(user: "fleet-mailer")
        defer { server.stop() }
        let handler = RecordingLogHandler()
        let deliverer = try Self.deliverer(
            server, to: ["csm@example.com", "manager@example.com"], user: "fleet-mailer", logger: handler)
        let alert = Self.hostileAlert()
        let outcome = await deliverer.submit(alert)
        await deliverer.shutdown()
        #expect(outcome == .delivered(status: 250), "\(outcome)")

        let messages = await server.waitForMessages(1)
        try #require(messages.count == 1, "the server received \(messages.count) messages: \(server.lines.text)")
        let m = messages[0]
        #expect(m["mail_from"] as? String == "alerts@fleet.example.com")
        #expect(m["rcpt_tos"] as? [String] == ["csm@example.com", "manager@example.com"])
        #expect(m["from"] as? String == "alerts@fleet.example.com")
        #expect(m["to"] as? String == "csm@example.com, manager@example.com")
        #expect(
            m["subject"] as? String == "<script>alert(1)</script> Smith & Sons is critical: health 32, down 18 from 50")
        #expect(m["message_id"] as? String == "<alert.al-customer_at_risk-acme-1@fleet.example.com>")
        #expect(m["content_type"] as? String == "multipart/alternative")
        #expect((m["longest_line"] as? Int ?? 999) <= 998)
        #expect(m["bare_lf"] as? Bool == false)
        #expect(m["auth_user"] as? String == "fleet-mailer")
        #expect(server.logins.map { $0["user"] as? String } == ["fleet-mailer"])

        let parts = m["parts"] as? [[String: Any]] ?? []
        #expect(parts.map { $0["type"] as? String } == ["text/plain", "text/html"])
        #expect(parts.allSatisfy { $0["charset"] as? String == "utf-8" })
        let plain = parts.first?["text"] as? String ?? ""
        let html = parts.last?["text"] as? String ?? ""
        #expect(plain.contains("<script>alert(1)</script> Smith & Sons"))
        #expect(plain.contains("Logins down 62% vs 28-day baseline (cost 12 points)"))
        #expect(plain.contains("Next step: Call the champion this week"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; Smith &amp; Sons"))
        #expect(!html.contains("<script>"))
        #expect(html.contains("<a href=\"https://crm.example.com/accounts/acme\">"))
        #expect(html.contains("Logins down 62% vs 28-day baseline (cost 12 points)"))

        let logged = handler.recorded.joined(separator: "\n")
        #expect(!logged.contains(Self.password))
        #expect(!"\(outcome)".contains(Self.password))
    }

    @Test("a 451 is retried later, and the same message is delivered on the next attempt")
    func transientThenDelivered() async throws {
        let server = try await Self.server()
        defer { server.stop() }
        let deliverer = try Self.deliverer(server, to: ["fail451-1@example.com"])
        let alert = Self.hostileAlert()
        let first = await deliverer.submit(alert)
        guard case .retryLater(.smtpTransient(451), _) = first else {
            Issue.record("first attempt: \(first)")
            await deliverer.shutdown()
            return
        }
        #expect(first.code == "smtp_451")
        let second = await deliverer.submit(alert)
        await deliverer.shutdown()
        #expect(second == .delivered(status: 250), "\(second)")
        let messages = await server.waitForMessages(1)
        #expect(messages.count == 1)
        #expect(messages.first?["message_id"] as? String == "<alert.al-customer_at_risk-acme-1@fleet.example.com>")
    }

    @Test("a 550 is permanent (dead-lettered with code smtp_550)")
    func rejectedIsPermanent() async throws {
        let server = try await Self.server()
        defer { server.stop() }
        let deliverer = try Self.deliverer(server, to: ["reject550@example.com"])
        let outcome = await deliverer.submit(Self.hostileAlert())
        await deliverer.shutdown()
        #expect(outcome == .permanent(.smtpRejected(code: 550)), "\(outcome)")
        #expect(outcome.code == "smtp_550")
        #expect(server.messages.isEmpty)
    }

    @Test("a refused login is permanent, and the wrong password is in no log line or outcome")
    func loginDeniedIsPermanent() async throws {
        let server = try await Self.server(user: "fleet-mailer")
        defer { server.stop() }
        let handler = RecordingLogHandler()
        let wrong = "WRONG-secret-pass-987"
        let deliverer = try Self.deliverer(
            server, to: ["csm@example.com"], user: "fleet-mailer", password: wrong, logger: handler)
        let outcome = await deliverer.submit(Self.hostileAlert())
        await deliverer.shutdown()
        #expect(outcome == .permanent(.smtpLoginDenied), "\(outcome)")
        let logged = handler.recorded.joined(separator: "\n")
        #expect(logged.contains("smtp_login_denied"))
        #expect(!logged.contains(wrong) && !"\(outcome)".contains(wrong))
        #expect(server.messages.isEmpty)
    }

    @Test("smtp:// without allow_insecure_smtp requires STARTTLS: a server without it is not sent to")
    func startTLSRequired() async throws {
        let server = try await Self.server()
        defer { server.stop() }
        let deliverer = try Self.deliverer(server, to: ["csm@example.com"], insecure: false)
        let outcome = await deliverer.submit(Self.hostileAlert())
        await deliverer.shutdown()
        guard case .retryLater(.tlsFailed, _) = outcome else {
            Issue.record("expected tls_failed, got \(outcome)")
            return
        }
        #expect(server.messages.isEmpty)
    }

    @Test("rate limits apply as for every destination: a burst of 3 at 50/s all arrive, in order")
    func severalMessagesInOrder() async throws {
        let server = try await Self.server()
        defer { server.stop() }
        let deliverer = try Self.deliverer(server, to: ["csm@example.com"])
        var outcomes: [DeliveryOutcome] = []
        for i in 0..<3 {
            var alert = Self.hostileAlert()
            alert.alertId = "al-\(i)"
            outcomes.append(await deliverer.submit(alert))
        }
        await deliverer.shutdown()
        #expect(outcomes.allSatisfy { $0 == .delivered(status: 250) }, "\(outcomes)")
        let ids = await server.waitForMessages(3).map { $0["message_id"] as? String ?? "" }
        #expect(ids == (0..<3).map { "<alert.al-\($0)@fleet.example.com>" })
    }
}
