import Foundation
import Testing

@testable import SlackDelivery

@Suite("Destinations file: names to webhooks, env references, https required")
struct DestinationsFileTests {
    let env = [
        "SLACK_CS": "https://hooks.slack.invalid/services/T000/B111/SECRETTOKEN",
        "CRM_URL": "https://crm.example.com/hook", "CRM_SECRET": "s3cr3t",
    ]

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
        #expect(
            e
                == .configInvalid(
                    file: "d.yaml", key: "destinations.a.url", line: 3,
                    problem: WebhookURL.Problem.plainHTTPNotAllowed.description))
        #expect(!(e?.description.contains("SECRETTOKEN") ?? true))
        #expect(e?.description.hasPrefix("d.yaml:3: destinations.a.url:") == true)
    }

    @Test func missingEnvironmentVariableNamesFileKeyLineAndVariable() {
        let e = error("destinations:\n  cs:\n    url: ${SLACK_MISSING}\n")
        #expect(
            e
                == .missingEnvironmentVariable(
                    file: "d.yaml", key: "destinations.cs.url", line: 3, variable: "SLACK_MISSING"))
    }

    @Test func otherMistakesAreNamed() {
        #expect(
            error("destinations:\n  a:\n    url: https://x.example/h\n    typo: 1\n")?.description.contains(
                "destinations.a.typo") == true)
        #expect(
            error("destinations:\n  a:\n    url: https://x.example/h\n    type: teams\n")?.description.contains(
                "expected 'slack', 'slack_app', 'webhook' or 'email'") == true)
        #expect(
            error("destinations:\n  a:\n    url: https://x.example/h\n    burst: 0\n")?.description.contains(
                "d.yaml:4: destinations.a.burst") == true)
        #expect(
            error("destinations:\n  a:\n    url: ftp://x.example/h\n")?.description.contains("scheme 'ftp'") == true)
        #expect(
            error("destinations:\n  a:\n    url: https://x.example/h\n    signing_secret: x\n")?.description.contains(
                "only 'webhook'") == true)
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
        let root = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let path = root.appendingPathComponent("config/destinations.yaml").path
        let env = [
            "SLACK_WEBHOOK_CUSTOMER_HEALTH": "https://hooks.slack.invalid/services/T1/B1/x",
            "SLACK_WEBHOOK_CS_ESCALATIONS": "https://hooks.slack.invalid/services/T1/B2/x",
            "SLACK_WEBHOOK_REVENUE_SIGNALS": "https://hooks.slack.invalid/services/T1/B3/x",
            "SLACK_WEBHOOK_BILLING_ALERTS": "https://hooks.slack.invalid/services/T1/B4/x",
        ]
        let file = try DestinationsFile.load(path: path, environment: env)
        #expect(
            file.destinations.map(\.name) == ["customer-health", "cs-escalations", "revenue-signals", "billing-alerts"])
        #expect(
            file.destinations.allSatisfy {
                $0.kind == .slack && $0.url.scheme == "https" && $0.rateLimit == .slackDefault
            })
    }

    @Test func checkListsEveryProblemOfEveryDestination() {
        let yaml = """
            destinations:
              a:
                url: ${HOOK_A}
              b:
                type: webhook
                url: https://${HOST_B}/hook/${PATH_B}
                signing_secret: ${SECRET_B}
              c:
                url: https://x.example/h
                burst: 0
                colour: red
              ok:
                url: ${HOOK_OK}
                group_wait: 2s
                quiet_hours: {timezone: UTC, windows: [{days: weekends, from: "00:00", to: "24:00"}]}
            """
        let result = DestinationsFile.check(
            yaml: yaml, file: "d.yaml",
            environment: ["HOOK_OK": "https://hooks.slack.invalid/T/B/ok", "HOST_B": "crm.example"])
        #expect(
            result.problems == [
                .missingEnvironmentVariable(file: "d.yaml", key: "destinations.a.url", line: 3, variable: "HOOK_A"),
                .missingEnvironmentVariable(file: "d.yaml", key: "destinations.b.url", line: 6, variable: "PATH_B"),
                .missingEnvironmentVariable(
                    file: "d.yaml", key: "destinations.b.signing_secret", line: 7, variable: "SECRET_B"),
                .configInvalid(
                    file: "d.yaml", key: "destinations.c.colour", line: 11,
                    problem:
                        "unknown key (expected one of allow_insecure_http, allow_insecure_smtp, api_url, burst, channel, currency, digest, from, group_wait, password, quiet_hours, rate_per_second, signing_secret, smtp_url, templates, to, token, type, url, username)"
                ),
                .configInvalid(
                    file: "d.yaml", key: "destinations.c.burst", line: 10, problem: "expected an integer >= 1"),
            ])
        // The valid destination is still there; the schedule keys are let through for AlertRules.
        #expect(result.file.destinations.map(\.name) == ["ok"])
    }

    @Test func aDuplicateKeyIsNamedWithItsLineWithoutQuotingTheFile() {
        let e = error(
            "destinations:\n  a:\n    url: https://hooks.slack.invalid/services/T/B/SECRETTOKEN\n  a:\n    url: https://x.example/h\n"
        )
        #expect(e?.description == "d.yaml:2: a: duplicate key")
    }
}
