import Foundation
import Testing
@testable import SlackDelivery

@Suite("Destinations file: names to webhooks, env references, https required")
struct DestinationsFileTests {
    let env = ["SLACK_CS": "https://hooks.slack.invalid/services/T000/B111/SECRETTOKEN", "CRM_URL": "https://crm.example.com/hook", "CRM_SECRET": "s3cr3t"]

    @Test func parsesSlackWebhookAndLocalSinkDestinations() throws {
        let yaml = """
        defaults:
          rate_per_second: 2
          burst: 4
        destinations:
          cs-enterprise:
            type: slack
            url: ${SLACK_CS}
          crm-sync:
            type: webhook
            url: ${CRM_URL}
            signing_secret: ${CRM_SECRET}
            rate_per_second: 20
            burst: 20
          local-sink:
            url: http://127.0.0.1:9099/services/T000/B000/local
            allow_insecure_http: true
        """
        let file = try DestinationsFile.parse(yaml: yaml, file: "destinations.yaml", environment: env)
        #expect(file.destinations.map(\.name) == ["cs-enterprise", "crm-sync", "local-sink"])
        #expect(file["cs-enterprise"]?.url.secret == "https://hooks.slack.invalid/services/T000/B111/SECRETTOKEN")
        #expect(file["cs-enterprise"]?.rateLimit == RateLimit(perSecond: 2, burst: 4))
        #expect(file["crm-sync"]?.kind == .webhook)
        #expect(file["crm-sync"]?.signingSecret == SigningSecret("s3cr3t"))
        #expect(file["crm-sync"]?.rateLimit == RateLimit(perSecond: 20, burst: 20))
        #expect(file["local-sink"]?.url.scheme == "http")
    }

    func error(_ yaml: String, env: [String: String] = [:]) -> SlackDeliveryError? {
        do {
            _ = try DestinationsFile.parse(yaml: yaml, file: "d.yaml", environment: env)
            return nil
        } catch {
            return error
        }
    }

    @Test func plainHTTPIsRefusedUnlessAllowed() {
        let e = error("destinations:\n  a:\n    url: http://hooks.example.com/services/T/B/SECRETTOKEN\n")
        #expect(e == .configInvalid(file: "d.yaml", key: "destinations.a.url", line: 3, problem: WebhookURL.Problem.plainHTTPNotAllowed.description))
        #expect(!(e?.description.contains("SECRETTOKEN") ?? true))
        #expect(e?.description.hasPrefix("d.yaml:3: destinations.a.url:") == true)
    }

    @Test func missingEnvironmentVariableNamesFileKeyLineAndVariable() {
        let e = error("destinations:\n  cs:\n    url: ${SLACK_MISSING}\n")
        #expect(e == .missingEnvironmentVariable(file: "d.yaml", key: "destinations.cs.url", line: 3, variable: "SLACK_MISSING"))
    }

    @Test func otherMistakesAreNamed() {
        #expect(error("destinations:\n  a:\n    url: https://x.example/h\n    typo: 1\n")?.description.contains("destinations.a.typo") == true)
        #expect(error("destinations:\n  a:\n    url: https://x.example/h\n    type: teams\n")?.description.contains("expected 'slack' or 'webhook'") == true)
        #expect(error("destinations:\n  a:\n    url: https://x.example/h\n    burst: 0\n")?.description.contains("d.yaml:4: destinations.a.burst") == true)
        #expect(error("destinations:\n  a:\n    url: ftp://x.example/h\n")?.description.contains("scheme 'ftp'") == true)
        #expect(error("destinations:\n  a:\n    url: https://x.example/h\n    signing_secret: x\n")?.description.contains("only 'webhook'") == true)
        #expect(error("nothing: here\n")?.description.contains("unknown key") == true)
        #expect(error("destinations: [a, b\n")?.description.contains("YAML syntax error") == true)
    }

    @Test func aSyntaxErrorNeverQuotesTheFile() {
        let e = error("destinations:\n  a:\n    url: https://hooks.slack.invalid/services/T/B/SECRETTOKEN\n   bad: [\n")
        #expect(e != nil)
        #expect(!(e?.description.contains("SECRETTOKEN") ?? true))
    }

    @Test func theExampleFileInTheRepositoryParses() throws {
        // The package root, through any symlinked test folder.
        let root = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path = root.appendingPathComponent("config/destinations.yaml").path
        let env = ["SLACK_WEBHOOK_CS_ENTERPRISE": "https://hooks.slack.invalid/services/T1/B1/x",
                   "SLACK_WEBHOOK_CS_MIDMARKET": "https://hooks.slack.invalid/services/T1/B2/x",
                   "SLACK_WEBHOOK_CS_DIGEST": "https://hooks.slack.invalid/services/T1/B3/x",
                   "CRM_WEBHOOK_URL": "https://crm.example.com/hooks/alerts", "CRM_WEBHOOK_SECRET": "k"]
        let file = try DestinationsFile.load(path: path, environment: env)
        #expect(file.destinations.count >= 3)
        #expect(file.destinations.contains { $0.kind == .webhook && $0.signingSecret != nil })
        #expect(file.destinations.contains { $0.url.scheme == "http" })
    }
}
