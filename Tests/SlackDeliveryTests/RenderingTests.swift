import Contracts
import Foundation
import Testing

@testable import SlackDelivery

@Suite("Rendering: Block Kit messages for every alert type")
struct RenderingTests {
    let renderer = SlackMessageRenderer()

    @Test("every alert type renders a message that passes the Block Kit checker", arguments: AlertType.allCases)
    func everyTypeIsValid(type: AlertType) {
        let bytes = renderer.render(Fixtures.alert(type))
        #expect(BlockKitValidator.validate(message: bytes) == [])
        let msg = Fixtures.json(bytes)
        #expect((msg["text"] as? String)?.isEmpty == false)
        #expect(!Fixtures.attachmentBlocks(msg).isEmpty)
    }

    @Test(
        "sidebar colour follows severity, whatever the type: critical red, high orange, medium yellow, low grey",
        arguments: AlertType.allCases.filter { $0 != .digest })
    func colours(type: AlertType) {
        func color(_ a: AlertRecord) -> String? {
            (Fixtures.json(renderer.render(a))["attachments"] as? [[String: Any]])?.first?["color"] as? String
        }
        let table: [(Severity, AlertColor)] = [(.critical, .red), (.high, .orange), (.medium, .yellow), (.low, .grey)]
        for (severity, expected) in table {
            #expect(color(Fixtures.alert(type, severity: severity)) == expected.rawValue, "\(type) \(severity)")
        }
    }

    @Test("a digest takes the colour of its most severe item, grey when empty")
    func digestColour() {
        func color(_ a: AlertRecord) -> String? {
            (Fixtures.json(renderer.render(a))["attachments"] as? [[String: Any]])?.first?["color"] as? String
        }
        var digest = Fixtures.alert(.digest, severity: .low)
        let worst = (digest.digestItems ?? []).map(\.severity).max()
        #expect(worst != nil)
        #expect(color(digest) == worst.map { AlertColor.of(severity: $0).rawValue })
        digest.digestItems = []
        #expect(color(digest) == AlertColor.grey.rawValue)
    }

    @Test(
        "a risk alert carries header, linked account, score, zone, severity, priority, MRR, tier, owner, signals, action, buttons"
    )
    func riskLayout() throws {
        let msg = Fixtures.json(renderer.render(Fixtures.alert(.customerAtRisk)))
        let header = try #require((msg["blocks"] as? [[String: Any]])?.first)
        #expect(header["type"] as? String == "header")
        #expect(
            (header["text"] as? [String: Any])?["text"] as? String
                == "Acme Corp is critical: health 32, down 18 from 50")
        let texts = Fixtures.allTexts(msg["attachments"] as Any).joined(separator: "\n")
        #expect(texts.contains("<https://crm.example.com/accounts/acme|Acme Corp>"))
        #expect(texts.contains("32, down 18 from 50"))
        #expect(texts.contains("Critical, was at risk"))
        #expect(texts.contains("Critical · P2"))
        #expect(texts.contains("$12,400"))
        #expect(texts.contains("*Next step:* Call the champion this week"))
        #expect(texts.contains("Enterprise"))
        #expect(texts.contains("<@U024BE7LH>"))
        #expect(texts.contains("• Logins down 62% vs 28-day baseline (cost 12 points)"))
        #expect(texts.contains("Call the champion this week"))
        let actions = try #require(Fixtures.attachmentBlocks(msg).first { $0["type"] as? String == "actions" })
        let buttons = try #require(actions["elements"] as? [[String: Any]])
        #expect(
            buttons.map { ($0["text"] as? [String: Any])?["text"] as? String } == ["Open account", "Open playbook"])
        #expect(
            buttons.map { $0["url"] as? String } == [
                "https://crm.example.com/accounts/acme", "https://playbooks.example.com/churn-risk?step=1&lang=en",
            ])
        #expect(
            (msg["text"] as? String)?.hasPrefix("P2 · Critical · Acme Corp is critical: health 32, down 18 from 50")
                == true)
    }

    @Test("a drop alert shows the drop over its rule's window, not the last step")
    func dropOverTheRuleWindow() {
        var alert = Fixtures.alert(
            .healthScoreDrop, severity: .medium,
            score: Fixtures.score(score: 53, delta: -2, zone: .atRisk, previousZone: .atRisk))
        alert.drop = ScoreDrop(
            points: 26, fromScore: 79, fromAt: Fixtures.raisedAt.adding(days: -6), windowMs: 7 * 86_400_000)
        #expect(renderer.headerText(alert) == "Acme Corp: health 53, down 26 from 79 in 7 days")
        let bytes = renderer.render(alert)
        #expect(BlockKitValidator.validate(message: bytes) == [])
        let texts = Fixtures.allTexts(Fixtures.json(bytes)).joined(separator: "\n")
        #expect(texts.contains("53, down 26 from 79 in 7 days"))
        #expect(!texts.contains("down 2 "))

        var crossing = alert
        crossing.drop = ScoreDrop(points: 5, fromScore: 43, line: 40)
        #expect(renderer.headerText(crossing) == "Acme Corp: health 53, down 5 from 43, below 40")

        var digest = Fixtures.alert(.digest)
        digest.digestItems?[1].drop = alert.drop
        let digestTexts = Fixtures.allTexts(Fixtures.json(renderer.render(digest))).joined(separator: "\n")
        #expect(digestTexts.contains("health 51, down 26 from 79 in 7 days"))
    }

    @Test("billing retry shows the amount; recovery and expansion have their own headers")
    func otherLayouts() {
        let billing = Fixtures.allTexts(Fixtures.json(renderer.render(Fixtures.alert(.billingRetryFailed)))).joined(
            separator: "\n")
        #expect(billing.contains("Billing retry failed for $1,200.50 (ref in-123) on <!date^1795168800^"))
        let recovered = Fixtures.json(renderer.render(Fixtures.alert(.recovered)))
        #expect(renderer.headerText(Fixtures.alert(.recovered)) == "Acme Corp recovered: health 74, up 22 from 52")
        #expect(Fixtures.allTexts(recovered).joined().contains("back to *Healthy* from critical"))
        let expansion = Fixtures.allTexts(Fixtures.json(renderer.render(Fixtures.alert(.expansionSignal)))).joined(
            separator: "\n")
        #expect(
            renderer.headerText(Fixtures.alert(.expansionSignal))
                == "Acme Corp: expansion signal, health 88, up 6 from 82")
        #expect(expansion.contains("Seats up 40% in 30 days (50 → 70) (added 8 points)"))
        #expect(!expansion.contains("Logins down"))
    }

    @Test("a digest lists its items and stays under 50 blocks with '…and N more'")
    func digestOverflow() {
        var a = Fixtures.alert(.digest)
        a.digestItems = Fixtures.digestItems(200)
        let bytes = renderer.render(a)
        #expect(BlockKitValidator.validate(message: bytes) == [])
        let msg = Fixtures.json(bytes)
        let total = (msg["blocks"] as? [Any])?.count ?? 0
        let inner = Fixtures.attachmentBlocks(msg).count
        #expect(total + inner <= BlockKitLimits.blocksPerMessage)
        let texts = Fixtures.allTexts(msg).joined(separator: "\n")
        #expect(texts.contains("…and \(200 - renderer.maxDigestItems) more accounts"))
        #expect(texts.contains("Account 0"))
        #expect(renderer.headerText(a) == "Daily digest for 2026-11-20")
    }

    @Test("event text is escaped: an account named <!channel> cannot ping a channel")
    func escaping() {
        var a = Fixtures.alert(.customerAtRisk)
        a.score?.profile.name = "<!channel> & <@U999|boss> <https://evil.example|click>"
        a.score?.signals[0].text = "<!here> logins down"
        a.suggestedAction = "Ping <!everyone> now"
        let bytes = renderer.render(a)
        #expect(BlockKitValidator.validate(message: bytes) == [])
        let all = Fixtures.allTexts(Fixtures.json(bytes)).joined(separator: "\n")
        // The only Slack command left is the fleet's own date token.
        #expect(!all.replacingOccurrences(of: "<!date^", with: "").contains("<!"))
        #expect(!all.contains("<@U999"))
        #expect(!all.contains("<https://evil"))
        #expect(all.contains("&lt;!channel&gt; &amp; &lt;@U999|boss&gt;"))
        #expect(all.contains("&lt;!here&gt; logins down"))
        #expect(all.contains("Ping &lt;!everyone&gt; now"))
    }

    @Test("unsafe URLs become plain text and bad owner ids are not mentions")
    func unsafeURLs() {
        var a = Fixtures.alert(.customerAtRisk)
        a.score?.profile.url = "javascript:alert(1)"
        a.playbookURL = "https://x.example/a|b>c"
        a.mention = "not-an-id <!channel>"
        let bytes = renderer.render(a)
        #expect(BlockKitValidator.validate(message: bytes) == [])
        let msg = Fixtures.json(bytes)
        #expect(!Fixtures.attachmentBlocks(msg).contains { $0["type"] as? String == "actions" })
        let all = Fixtures.allTexts(msg).joined(separator: "\n")
        #expect(!all.contains("javascript:"))
        #expect(all.contains("not-an-id &lt;!channel&gt;"))
    }

    @Test("truncation at every limit: header 150, section 3000, field 2000, button 75, URL 3000, fields 10, fallback")
    func truncation() throws {
        var a = Fixtures.alert(.customerAtRisk)
        let longName = String(repeating: "Ünïcödé & <Co> ", count: 400)
        a.score?.profile.name = longName
        a.score?.signals = (0..<30).map {
            Signal(code: "s\($0)", family: .support, text: String(repeating: "x&<", count: 500), impact: -1)
        }
        a.suggestedAction = String(repeating: "Do <this> & that. ", count: 500)
        a.score?.profile.renewalDate = String(repeating: "9", count: 5000)
        a.score?.profile.url = "https://crm.example.com/" + String(repeating: "a", count: 3001)
        a.playbookURL = "https://playbooks.example.com/" + String(repeating: "b", count: 2900)
        a.alertId = String(repeating: "id&", count: 2000)
        let r = SlackMessageRenderer(maxSignals: 30)
        let bytes = r.render(a)
        #expect(BlockKitValidator.validate(message: bytes) == [])
        let msg = Fixtures.json(bytes)
        let header = try #require(
            ((msg["blocks"] as? [[String: Any]])?.first?["text"] as? [String: Any])?["text"] as? String)
        #expect(SlackText.length(header) <= 150 && header.hasSuffix("…"))
        #expect(SlackText.length(msg["text"] as? String ?? "") <= BlockKitLimits.fallbackText)
        // The 3001-character account URL is dropped (not cut into a wrong link); the playbook URL (under 3000) stays.
        let buttons =
            (Fixtures.attachmentBlocks(msg).first { $0["type"] as? String == "actions" }?["elements"]
                as? [[String: Any]]) ?? []
        #expect(buttons.count == 1 && (buttons.first?["url"] as? String)?.count ?? 0 <= 3000)
        for t in Fixtures.allTexts(msg) {
            // No cut inside an entity.
            #expect(
                !t.contains(where: { $0 == "<" || $0 == ">" }) || t.contains("<@U024BE7LH>") || t.contains("<https://")
                    || t.contains("<!date^"))
            let lastAmp = t.lastIndex(of: "&")
            if let amp = lastAmp { #expect(t[amp...].contains(";")) }
        }
    }

    @Test("a section with more than 10 facts keeps 10 fields")
    func tenFields() {
        let r = SlackMessageRenderer()
        let many = (0..<14).map { ("F\($0)", "v\($0)") }
        let block = r.fieldsSection(lead: ["lead"], fields: many)
        let bytes = JSONValue.object([("text", .string("t")), ("blocks", .array([block]))]).serialized()
        #expect(BlockKitValidator.validate(message: bytes) == [])
        let fields = ((Fixtures.json(bytes)["blocks"] as? [[String: Any]])?.first?["fields"] as? [Any]) ?? []
        #expect(fields.count == 10)
    }

    @Test("button text is cut to 75")
    func buttonText() {
        let r = SlackMessageRenderer()
        var a = Fixtures.alert(.customerAtRisk)
        a.playbookURL = nil
        let block = r.buttons(a)
        #expect(block != nil)
        #expect(SlackText.escaped(String(repeating: "B", count: 200), limit: 75).utf16.count == 75)
    }

    @Test("the same alert always renders the same bytes")
    func deterministic() {
        let a = Fixtures.alert(.healthScoreDrop)
        #expect(renderer.render(a) == renderer.render(a))
    }

    @Test("an alert without a score record still renders")
    func noScore() {
        let a = Fixtures.alert(.billingRetryFailed, score: nil)
        let bytes = renderer.render(a)
        #expect(BlockKitValidator.validate(message: bytes) == [])
        #expect(renderer.headerText(a) == "acme: billing retry failed for $1,200.50")
    }

    @Test("an escalation says so in its header and names the chain step's people, nothing else")
    func escalation() {
        var a = Fixtures.alert(.customerAtRisk)
        a.escalation = AlertEscalation(
            step: 2, of: 3, dueAt: a.raisedAt, alertId: "0123456789abcdef", mentions: ["U0MANAGER", "<!channel>"])
        let bytes = renderer.render(a)
        #expect(BlockKitValidator.validate(message: bytes) == [])
        let msg = Fixtures.json(bytes)
        let all = Fixtures.allTexts(msg).joined(separator: "\n")
        #expect(all.contains("Not acknowledged: "))
        #expect(all.contains("*Escalation 2 of 3*: not acknowledged by <!date^"))
        #expect(all.contains("<@U0MANAGER>") && !all.contains("<!channel>"))
        #expect(
            !Fixtures.allTexts(Fixtures.json(renderer.render(Fixtures.alert(.customerAtRisk)))).joined()
                .contains("Escalation"))
    }
}

@Suite("SlackText: escaping and clean cuts")
struct SlackTextTests {
    @Test func escapesTheThreeCharacters() {
        #expect(SlackText.escape("a & b < c > d") == "a &amp; b &lt; c &gt; d")
        #expect(SlackText.escape("plain") == "plain")
    }

    @Test func cutsNeverSplitEntitiesOrEmoji() {
        let s = SlackText.escaped("&&&&&&&&&&", limit: 12)  // "&amp;" is 5 units
        #expect(s == "&amp;&amp;…")
        let e = SlackText.escaped(String(repeating: "👍🏽", count: 10), limit: 9)
        #expect(e.utf16.count <= 9 && e.hasSuffix("…"))
        #expect(e.dropLast().allSatisfy { $0 == "👍🏽" })
    }

    @Test func fitMarkupDropsLinesAndKeepsLinksWhole() {
        let link = "<https://example.com/x|Name>"
        let out = SlackText.fitMarkup(["first", String(repeating: "y", count: 10) + link + "zzzz"], limit: 30)
        #expect(out.utf16.count <= 30)
        #expect(!out.contains("<https://example.com/x|Na") || out.contains(link))
    }

    @Test func mentionsOnlyForWellFormedIds() {
        #expect(SlackText.mention("U024BE7LH") == "<@U024BE7LH>")
        #expect(SlackText.mention("W12345") == "<@W12345>")
        #expect(SlackText.mention("u024") == nil)
        #expect(SlackText.mention("U02>!channel") == nil)
        #expect(SlackText.mention(nil) == nil)
    }
}
