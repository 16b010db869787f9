import Contracts
import Foundation
import SlackDelivery
import TestSupport
import Testing

/// A destination's Mustache templates (issue 26 item 4): what the template language accepts, what
/// each part renders, that values stay escaped whatever the template does, and that the
/// destinations file reports every problem with its line.
@Suite struct MessageTemplateTests {
    static let now = Timestamp(millisecondsSinceEpoch: 1_795_000_000_000)
    static let environment = ["HOOK": "https://hooks.slack.invalid/services/T0/B0/x"]

    // MARK: - The language

    @Test(
        arguments: [
            ("{{account.name}} is at {{score.value}}", nil),
            ("{{#signals}}• {{text}} ({{impact}})\n{{/signals}}", nil),
            ("{{#trigger}}{{text}}{{/trigger}}{{^trigger}}no event{{/trigger}}", nil),
            ("{{! a comment }}{{{account.link}}} {{&headline}}", nil),
            ("{{#digest.items}}{{name}}: {{change}}{{/digest.items}}", nil),
            ("{{#score}}{{account.name}} {{value}}{{/score}}", nil),
            ("{{acount.name}}", "line 1 of the template: 'acount.name' is not a field here"),
            ("ok\n{{#signals}}{{name}}{{/signals}}", "line 2 of the template: 'name' is not a field here"),
            ("{{> footer}}", "partials and template inheritance are not supported"),
            ("{{uppercased(account.name)}}", "transforms are not supported"),
            ("{{% CONTENT_TYPE: HTML}}", "pragmas are not supported"),
            ("{{=<% %>=}}", "changing the delimiters is not supported"),
            ("{{#signals}}{{text}}", "'{{#signals}}' is never closed"),
            ("{{#signals}}{{/trigger}}", "'{{/trigger}}' closes 'signals'"),
            ("{{account.name", "'{{' is never closed"),
            // Work stays linear in the template: a list inside a list would repeat per item of each.
            (
                "{{#signals}}{{#signals}}{{text}}{{/signals}}{{/signals}}",
                "'{{#signals}}' inside another list's section"
            ),
            (
                "{{#digest.items}}{{#signals}}x{{/signals}}{{/digest.items}}",
                "'{{#signals}}' inside another list's section"
            ),
            ("{{#signals}}{{^signals}}none{{/signals}}{{/signals}}", nil),
            ("{{signals}}", "'signals' is a list: write {{#signals}}…{{/signals}} around its fields"),
            ("{{account}}", "'account' holds fields: name one (account has id, name"),
            (
                String(repeating: "{{#account}}", count: 9) + String(repeating: "{{/account}}", count: 9),
                "sections nested deeper than 8"
            ),
            (String(repeating: "x", count: 10_001), "longer than 10000 bytes"),
        ] as [(String, String?)])
    func templateLanguage(source: String, problem: String?) {
        do {
            _ = try MessageTemplate(source)
            #expect(problem == nil, "\(source.debugDescription) was accepted; expected: \(problem ?? "")")
        } catch {
            #expect(problem != nil, "\(source.debugDescription) refused: \(error)")
            if let problem { #expect("\(error)".contains(problem), "\(source.debugDescription): \(error)") }
        }
    }

    @Test func everyCatalogueFieldHasAValueOnSomeSample() {
        var seen: Set<String> = []
        func walk(_ value: Any, _ path: String) {
            if !path.isEmpty { seen.insert(path) }
            if let map = value as? [String: Any] {
                for (k, v) in map { walk(v, path.isEmpty ? k : "\(path).\(k)") }
            } else if let list = value as? [[String: Any]] {
                for item in list { walk(item, path) }
            }
        }
        for type in AlertType.allCases {
            var alert = SampleAlerts.make(type, severity: .high, destination: "d", now: Self.now)
            alert.mention = "U024BE7LH"
            if type != .digest {
                alert.escalation = AlertEscalation(step: 1, of: 2, dueAt: Self.now, alertId: "a", mentions: [])
            }
            walk(TemplateFields.values(of: alert, style: .slack, renderer: SlackMessageRenderer()), "")
        }
        #expect(
            seen == TemplateFields.paths,
            "documented but never set: \(TemplateFields.paths.subtracting(seen)); set but undocumented: \(seen.subtracting(TemplateFields.paths))"
        )
    }

    // MARK: - Rendering

    func destination(_ yaml: String) throws -> Destination {
        let result = DestinationsFile.check(
            yaml: "destinations:\n  cs:\n    url: ${HOOK}\n" + yaml, file: "d.yaml", environment: Self.environment)
        #expect(result.problems.isEmpty, "\(result.problems)")
        return try #require(result.file["cs"])
    }

    func message(_ alert: AlertRecord, _ d: Destination) throws -> [String: Any] {
        let body = SlackMessageRenderer().styled(for: d).render(alert)
        #expect(BlockKitValidator.validate(message: body).isEmpty)
        return try #require(JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
    }

    /// Every text of a message, in order (header, sections, fields, context).
    func texts(_ json: Any) -> [String] {
        if let map = json as? [String: Any] {
            if map["type"] as? String == "mrkdwn" || map["type"] as? String == "plain_text" {
                return [map["text"] as? String ?? ""]
            }
            return ["text", "blocks", "attachments", "fields", "elements"].flatMap { map[$0].map(texts) ?? [] }
        }
        if let list = json as? [Any] { return list.flatMap(texts) }
        return []
    }

    @Test func eachPartReplacesTheBuiltInWords() throws {
        let d = try destination(
            """
                templates:
                  customer_at_risk:
                    header: ":rotating_light: {{account.name}} needs a call ({{score.change}})"
                    text: |
                      *{{account.link}}* slipped to *{{score.zone}}*
                      Owner: {{account.owner}}
                    why: "{{#signals}}- {{text}} [{{points}}]\\n{{/signals}}"
                    next_step: "*Do this today:* {{next_step}}"
            """)
        var alert = SampleAlerts.make(.customerAtRisk, severity: .critical, destination: "cs", now: Self.now)
        alert.mention = "U024BE7LH"
        let json = try message(alert, d)
        let all = texts(json)
        #expect(
            all.contains(
                ":rotating_light: Sample Account 0 (fleet send-test) needs a call (health 32, down 18 from 50)"))
        #expect(
            all.contains(
                "*<https://example.com/accounts/sample-0|Sample Account 0 (fleet send-test)>* slipped to *Critical*\nOwner: <@U024BE7LH>"
            ))
        #expect(
            all.contains(
                "- Logins down 62% vs 28-day baseline [-12]\n- 5 tickets opened in 7 days (normal 1) [-6]\n- 2 failed payments this month [-5]"
            ))
        #expect(all.contains("*Do this today:* Call the champion this week and review adoption."))
        #expect(!all.contains { $0.hasPrefix("*Why*") }, "the built-in signal section is replaced")
        // The notification text starts from the templated header.
        let notification = json["text"] as? String ?? ""
        #expect(notification.hasPrefix("P2 · Critical · :rotating_light: Sample Account 0"), "\(notification)")
    }

    @Test func aTypesOwnTemplateBeatsTheDefaultAndAnEmptyOneLeavesThePartOut() throws {
        let d = try destination(
            """
                templates:
                  default:
                    next_step: "Next: {{next_step}}"
                    why: ""
                  expansion_signal:
                    next_step: "Grow it: {{next_step}}"
            """)
        let risk = texts(
            try message(SampleAlerts.make(.healthScoreDrop, severity: .high, destination: "cs", now: Self.now), d))
        #expect(risk.contains("Next: Call the champion this week and review adoption."))
        #expect(!risk.contains { $0.contains("Logins down 62%") && $0.contains("cost 12 points") }, "why left out")
        let growth = texts(
            try message(SampleAlerts.make(.expansionSignal, severity: .low, destination: "cs", now: Self.now), d))
        #expect(growth.contains("Grow it: Offer the annual plan with the premium add-on."))
        let plain = texts(
            try message(
                SampleAlerts.make(.customerAtRisk, severity: .high, destination: "cs", now: Self.now),
                try destination("")))
        #expect(
            plain.contains("*Next step:* Call the champion this week and review adoption."), "no templates: built-in")
    }

    @Test func aDeeplyNestedTemplateIsRefusedBeforeAnythingRendersIt() {
        // Before: 50 nested {{#signals}} rendered 3^50 times while check-config read the file.
        for n in [2, 50, 50_000] {
            let source = String(repeating: "{{#signals}}", count: n) + "x" + String(repeating: "{{/signals}}", count: n)
            let yaml =
                "destinations:\n  cs:\n    url: ${HOOK}\n    templates:\n      default:\n        why: \"\(source)\"\n"
            let problems = DestinationsFile.check(yaml: yaml, file: "d.yaml", environment: Self.environment).problems
            #expect(problems.count == 1, "n=\(n): \(problems)")
            #expect(problems.first?.description.hasPrefix("d.yaml:6: destinations.cs.templates.default.why: ") == true)
        }
    }

    @Test func hostileValuesStayEscapedWhateverTheTemplateWrites() throws {
        let d = try destination(
            """
                templates:
                  default:
                    header: "{{{account.name}}} / {{headline}}"
                    text: "{{{account.name}}} {{&account.name}} {{account.link}} {{#signals}}{{{text}}}{{/signals}}"
            """)
        var alert = SampleAlerts.make(.customerAtRisk, severity: .high, destination: "cs", now: Self.now)
        alert.score?.profile.name = "<!channel> & <https://evil.example|click>"
        alert.score?.profile.url = "https://x.example/a?b=1&c=<2>"
        alert.score?.signals[0].text = "<@U999> {{account.id}}"
        let all = texts(try message(alert, d)).joined(separator: "\n")
        #expect(!all.contains("<!channel>"), "\(all)")
        #expect(!all.contains("<https://evil"), "\(all)")
        #expect(!all.contains("<@U999>"), "\(all)")
        #expect(all.contains("&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;"), "\(all)")
        #expect(all.contains("&lt;@U999&gt; {{account.id}}"), "a value is never read as a template: \(all)")
    }

    @Test func htmlAndPlainStylesWriteTheSameFieldsForEmail() throws {
        var alert = SampleAlerts.make(.billingRetryFailed, severity: .high, destination: "cs", now: Self.now)
        alert.score?.profile.name = "Tom & Jerry's <Co>"
        let template = try MessageTemplate("{{account.link}}: {{trigger.amount}} at {{alert.raised_at}}")
        let renderer = SlackMessageRenderer()
        let html = template.render(TemplateFields.values(of: alert, style: .html, renderer: renderer))
        let plain = template.render(TemplateFields.values(of: alert, style: .plain, renderer: renderer))
        #expect(
            html
                == "<a href=\"https://example.com/accounts/sample-0\">Tom &amp; Jerry&#39;s &lt;Co&gt;</a>: $1,240.00 at 2026-11-18 11:06 UTC"
        )
        #expect(plain == "Tom & Jerry's <Co>: $1,240.00 at 2026-11-18 11:06 UTC")
    }

    // MARK: - The destinations file

    @Test func everyTemplateProblemIsReportedWithItsFileLine() {
        let yaml = """
            destinations:
              cs:
                url: ${HOOK}
                templates:
                  customer_at_risky:
                    header: "x"
                  health_score_drop:
                    title: "x"
                    text: |
                      first line
                      {{score.valeu}}
                  default:
                    header: "{{#signals}}"
                    why: [1, 2]
            """
        let problems = DestinationsFile.check(yaml: yaml, file: "d.yaml", environment: Self.environment).problems
            .map(\.description)
        let expected = [
            "d.yaml:5: destinations.cs.templates.customer_at_risky: unknown alert type",
            "d.yaml:8: destinations.cs.templates.health_score_drop.title: unknown message part",
            "d.yaml:11: destinations.cs.templates.health_score_drop.text: line 2 of the template: 'score.valeu' is not a field here",
            "d.yaml:13: destinations.cs.templates.default.header: line 1 of the template: '{{#signals}}' is never closed",
            "d.yaml:14: destinations.cs.templates.default.why: expected a template string",
        ]
        #expect(problems.count == expected.count, "\(problems)")
        for (got, want) in zip(problems, expected) { #expect(got.hasPrefix(want), "\(got)\n  expected \(want)") }
    }

    @Test func aTemplateThatOverrunsSlacksLimitsOnTheSamplesIsRefused() {
        let long = String(repeating: "{{account.name}} ", count: 10)  // 10 x 35 characters > 150
        let yaml =
            "destinations:\n  cs:\n    url: ${HOOK}\n    templates:\n      recovered:\n        header: \"\(long)\"\n"
        let problems = DestinationsFile.check(yaml: yaml, file: "d.yaml", environment: Self.environment).problems
        #expect(problems.count == 1, "\(problems)")
        #expect(
            problems.first?.description.hasPrefix(
                "d.yaml:6: destinations.cs.templates.recovered.header: renders 350 characters for a sample recovered alert; Slack's limit is 150"
            ) == true,
            "\(problems)")
    }

    // MARK: - The reference

    @Test func docsListEveryFieldAndEveryExampleIsRead() throws {
        let doc = try String(
            contentsOf: MarkdownExamples.root.appendingPathComponent("docs/templates.md"), encoding: .utf8)
        #expect(
            doc.contains(TemplateFields.markdownTable()),
            "docs/templates.md's field table differs from TemplateFields.markdownTable()")
        let blocks = try MarkdownExamples.yamlBlocks(ofFile: "docs/templates.md")
        #expect(blocks.count >= 2)
        for block in blocks {
            let result = DestinationsFile.check(
                yaml: block.text, file: "docs/templates.md",
                environment: ["SLACK_WEBHOOK_CUSTOMER_HEALTH": "https://hooks.slack.invalid/services/T0/B0/x"])
            #expect(result.problems.isEmpty, "example at line \(block.line): \(result.problems)")
            #expect(result.file.destinations.contains { !$0.templates.isEmpty }, "example at line \(block.line)")
        }
    }
}
