import Contracts
import Foundation
import Testing

@testable import SlackDelivery

/// The words of an email: subject, plain-text and HTML bodies from the same parts and templates.
@Suite("Email rendering: one set of parts and templates, plain and HTML")
struct EmailRendererTests {
    static let settings = EmailSettings(
        from: try! EmailAddress("alerts@example.com"), to: [try! EmailAddress("cs@example.com")])
    static let now = Timestamp(millisecondsSinceEpoch: 1_796_519_828_000)

    /// The email for `alert` from an email destination of a destinations file with `templates`
    /// (YAML lines of the `templates` key, indented by 6).
    static func render(_ alert: AlertRecord, templates: String? = nil) throws -> EmailMessage {
        var yaml = """
            destinations:
              mail:
                type: email
                smtp_url: smtps://mail.example.com
                from: alerts@example.com
                to: [cs@example.com]

            """
        if let templates { yaml += "    templates:\n" + templates + "\n" }
        let file = try DestinationsFile.parse(yaml: yaml, file: "d.yaml", environment: [:])
        let destination = try #require(file["mail"])
        let renderer = EmailRenderer(renderer: SlackMessageRenderer().styled(for: destination))
        return renderer.message(alert, settings: try #require(destination.email), now: now)
    }

    @Test("built-in words: the header as subject, the account's facts, why, next step, links and footer in both parts")
    func builtIn() throws {
        let m = try Self.render(Fixtures.alert(.customerAtRisk))
        #expect(m.subject == "Acme Corp is critical: health 32, down 18 from 50")
        #expect(m.messageId == "alert.al-customer_at_risk-acme-1@example.com")
        for needle in [
            "Acme Corp · Customer at risk", "Health: 32, down 18 from 50", "Zone: Critical, was at risk",
            "Severity: Critical · P2", "MRR: $12,400", "Tier: Enterprise", "Why",
            "- Logins down 62% vs 28-day baseline (cost 12 points)",
            "Next step: Call the champion this week and review the onboarding plan.",
            "Playbook: https://playbooks.example.com/churn-risk?step=1&lang=en",
            "Raised 2026-11-20 10:00 UTC · Rule critical-zone · Alert al-customer_at_risk-acme-1",
        ] {
            #expect(m.plain.contains(needle), "plain lacks \(needle):\n\(m.plain)")
        }
        for needle in [
            "<strong><a href=\"https://crm.example.com/accounts/acme\">Acme Corp</a></strong> · Customer at risk",
            "<strong>Health:</strong> 32, down 18 from 50", "<strong>Why</strong>",
            "<a href=\"https://playbooks.example.com/churn-risk?step=1&amp;lang=en\">",
            "<title>Acme Corp is critical: health 32, down 18 from 50</title>",
        ] {
            #expect(m.html.contains(needle), "html lacks \(needle):\n\(m.html)")
        }
    }

    @Test("hostile values: raw in the plain part, escaped in the HTML part, never a line in the subject")
    func hostileValues() throws {
        var alert = Fixtures.alert(.billingRetryFailed)
        alert.score = Fixtures.score(name: "<img src=x onerror=alert(1)> & \"Co\"\nBcc: x@y")
        alert.suggestedAction = "<b>call</b> & 'fix'"
        let m = try Self.render(alert)
        #expect(!m.subject.contains("\n"))
        #expect(m.plain.contains("<b>call</b> & 'fix'"))
        #expect(m.html.contains("&lt;b&gt;call&lt;/b&gt; &amp; &#39;fix&#39;"))
        #expect(m.html.contains("&lt;img src=x onerror=alert(1)&gt; &amp; &quot;Co&quot; Bcc: x@y"))
        #expect(!m.html.contains("<img") && !m.html.contains("<b>call"))
        let wire = String(decoding: m.rendered(), as: UTF8.self)
        #expect(!wire.contains("\r\nBcc:"))
    }

    @Test("the same templates word both parts, values escaped for each; a part rendered empty is left out")
    func templates() throws {
        var alert = Fixtures.alert(.customerAtRisk)
        alert.score = Fixtures.score(name: "Smith & Sons")
        let m = try Self.render(
            alert,
            templates: """
                      default:
                        header: "{{account.name}} needs a call ({{score.change}})"
                        text: |
                          Account {{account.link}} in {{account.tier}}
                          Owner: {{account.owner}}
                        why: ""
                        next_step: "Do this: {{next_step}}"
                """)
        #expect(m.subject == "Smith & Sons needs a call (health 32, down 18 from 50)")
        #expect(m.plain.contains("Account Smith & Sons in Enterprise\nOwner: U024BE7LH"))
        #expect(
            m.html.contains(
                "Account <a href=\"https://crm.example.com/accounts/acme\">Smith &amp; Sons</a> in Enterprise<br>\nOwner: U024BE7LH"
            ))
        #expect(m.plain.contains("Do this: Call the champion"))
        #expect(m.html.contains("Do this: Call the champion"))
        #expect(!m.plain.contains("Why") && !m.html.contains("Why"))
        #expect(m.html.contains("<title>Smith &amp; Sons needs a call"))
    }

    @Test("an escalation says so in the subject and the body; a digest lists its accounts; a group names the others")
    func escalationDigestAndGroup() throws {
        var alert = Fixtures.alert(.customerAtRisk)
        alert.escalation = AlertEscalation(
            step: 1, of: 3, dueAt: Fixtures.raisedAt, alertId: alert.alertId, mentions: ["U024BE7LH"])
        let escalated = try Self.render(alert)
        #expect(escalated.subject.hasPrefix("Not acknowledged: Acme Corp is critical"))
        #expect(escalated.plain.contains("Escalation 1 of 3: not acknowledged by 2026-11-20 10:00 UTC"))

        let digest = try Self.render(Fixtures.alert(.digest))
        #expect(digest.subject == "Daily digest for 2026-11-20")
        #expect(digest.plain.contains("- Account 0 · expansion signal: health 50"))
        #expect(digest.html.contains("<a href=\"https://crm.example.com/accounts/2\">Account 2</a>"))

        let group = try AlertGroup([Fixtures.alert(.customerAtRisk), Fixtures.alert(.healthScoreDrop)])
        let renderer = EmailRenderer(renderer: SlackMessageRenderer())
        let grouped = renderer.message(group, settings: Self.settings, now: Self.now)
        #expect(grouped.plain.contains("Also raised for this account"))
        #expect(grouped.messageId.hasPrefix("alert.al-customer_at_risk-acme-1."))
        #expect(grouped.plain.contains("Alert al-customer_at_risk-acme-1, al-health_score_drop-acme-1"))
    }

    @Test("with feedback links configured, both parts carry the signed Useful / Not useful links")
    func feedbackLinks() throws {
        var slack = SlackMessageRenderer()
        slack.feedback = FeedbackLinkSigner(
            baseURL: "https://fleet.example.com/", secret: SigningSecret("feedback-secret"), lifetimeMs: 86_400_000)
        let alert = Fixtures.alert(.customerAtRisk)
        let m = EmailRenderer(renderer: slack).message(alert, settings: Self.settings, now: Self.now)
        let links = try #require(slack.feedback).links(for: alert)
        #expect(links.count == 2)
        for (_, url) in links {
            #expect(m.plain.contains(url))
            #expect(m.html.contains("<a href=\"\(url.replacingOccurrences(of: "&", with: "&amp;"))\">"))
        }
        #expect(m.plain.contains("Useful: https://fleet.example.com/") && m.html.contains(">Not useful</a>"))
    }

    @Test("every alert type renders a message whose lines fit, both parts present")
    func everyType() throws {
        for type in AlertType.allCases {
            let m = try Self.render(Fixtures.alert(type))
            let wire = String(decoding: m.rendered(), as: UTF8.self)
            #expect(wire.components(separatedBy: "\r\n").allSatisfy { $0.utf8.count <= 998 })
            #expect(wire.contains("text/plain") && wire.contains("text/html"), "\(type)")
            #expect(!m.plain.isEmpty && m.html.hasPrefix("<!DOCTYPE html>"))
        }
    }
}
