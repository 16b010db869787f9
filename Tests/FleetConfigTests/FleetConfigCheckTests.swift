import AlertRules
import Foundation
import HealthModel
import SlackDelivery
import Testing

@testable import FleetConfig

/// The configuration checked across files: every problem with file, line, key and what is wrong.
@Suite struct FleetConfigCheckTests {
    static let root = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A shipped example, reported under its repository path.
    static func example(_ name: String) throws -> ConfigSource {
        ConfigSource(
            path: "config/\(name)",
            text: try String(contentsOf: root.appendingPathComponent("config/\(name)"), encoding: .utf8))
    }

    static func examples() throws -> FleetConfigFiles {
        FleetConfigFiles(
            scoring: try example("scoring.yaml"), rules: try example("rules.yaml"),
            destinations: try example("destinations.yaml"))
    }

    static let environment = [
        "SLACK_WEBHOOK_CUSTOMER_HEALTH": "https://hooks.slack.invalid/services/T1/B1/a",
        "SLACK_WEBHOOK_CS_ESCALATIONS": "https://hooks.slack.invalid/services/T1/B2/b",
        "SLACK_WEBHOOK_REVENUE_SIGNALS": "https://hooks.slack.invalid/services/T1/B3/c",
        "SLACK_WEBHOOK_BILLING_ALERTS": "https://hooks.slack.invalid/services/T1/B4/d",
    ]

    /// The 1-based line of the first line of `text` containing `needle`.
    static func line(of needle: String, in text: String) -> Int? {
        text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains(needle) }.map { $0 + 1 }
    }

    @Test func theShippedExamplesAreOneConsistentTeam() throws {
        let files = try Self.examples()
        #expect(FleetConfigCheck.check(files, environment: Self.environment) == [])
        let loaded = try FleetConfigCheck.load(files, environment: Self.environment)
        #expect(
            loaded.destinations?.destinations.map(\.name) == [
                "customer-health", "cs-escalations", "revenue-signals", "billing-alerts",
            ])
        // The team channel's quiet hours and digest come from the rules file; its group wait from the destinations file.
        #expect(loaded.destinationPolicies["customer-health"]?.quietHours?.timeZone == "America/New_York")
        #expect(loaded.destinationPolicies["customer-health"]?.digest != nil)
        #expect(loaded.destinationPolicies["customer-health"]?.groupWaitMs == 2_000)
        #expect(loaded.destinationPolicies["billing-alerts"]?.quietHours?.timeZone == "Europe/Berlin")
    }

    @Test func aMissingVariableIsNamedWithFileLineAndKey() throws {
        let files = try Self.examples()
        var env = Self.environment
        env["SLACK_WEBHOOK_CS_ESCALATIONS"] = nil
        let line = try #require(Self.line(of: "${SLACK_WEBHOOK_CS_ESCALATIONS}", in: files.destinations!.text))
        let problems = FleetConfigCheck.check(files, environment: env)
        #expect(
            problems.map(\.description) == [
                "config/destinations.yaml:\(line): destinations.cs-escalations.url: environment variable SLACK_WEBHOOK_CS_ESCALATIONS is not set or is empty"
            ])
        env["SLACK_WEBHOOK_BILLING_ALERTS"] = ""
        #expect(
            FleetConfigCheck.check(files, environment: env).map(\.key) == [
                "destinations.cs-escalations.url", "destinations.billing-alerts.url",
            ])
        #expect(throws: FleetConfigError.self) { try FleetConfigCheck.load(files, environment: env) }
    }

    /// The shipped destinations with cs-escalations moved to a Slack app: checked like a webhook
    /// (the token's variable named, never its value; token and channel required).
    @Test func aSlackAppDestinationIsCheckedWithItsTokenAndChannel() throws {
        var files = try Self.examples()
        let webhook = "    type: slack\n    url: ${SLACK_WEBHOOK_CS_ESCALATIONS}\n"
        let text = files.destinations!.text
        #expect(text.contains("  cs-escalations:\n" + webhook))
        let app = text.replacingOccurrences(
            of: "  cs-escalations:\n" + webhook,
            with: "  cs-escalations:\n    type: slack_app\n    token: ${SLACK_BOT_TOKEN}\n    channel: C0123ABCD\n")
        files.destinations = ConfigSource(path: "config/destinations.yaml", text: app)
        var env = Self.environment
        env["SLACK_BOT_TOKEN"] = "fake-bot-token-for-config-tests"
        #expect(FleetConfigCheck.check(files, environment: env) == [])
        #expect(try FleetConfigCheck.load(files, environment: env).destinations?["cs-escalations"]?.kind == .slackApp)
        env["SLACK_BOT_TOKEN"] = nil
        let line = try #require(Self.line(of: "    token: ${SLACK_BOT_TOKEN}", in: app))
        #expect(
            FleetConfigCheck.check(files, environment: env).map(\.description) == [
                "config/destinations.yaml:\(line): destinations.cs-escalations.token: environment variable SLACK_BOT_TOKEN is not set or is empty"
            ])
        files.destinations = ConfigSource(
            path: "config/destinations.yaml", text: app.replacingOccurrences(of: "    channel: C0123ABCD\n", with: ""))
        env["SLACK_BOT_TOKEN"] = "fake-bot-token-for-config-tests"
        #expect(FleetConfigCheck.check(files, environment: env).map(\.key) == ["destinations.cs-escalations.channel"])
    }

    @Test func aRouteToAnUndefinedDestinationIsNamedWithTheKnownOnes() throws {
        var files = try Self.examples()
        // The team renames a channel in the rules file only.
        files.rules!.text = files.rules!.text
            .replacingOccurrences(of: "destination: billing-alerts", with: "destination: cs-smb")
            .replacingOccurrences(of: "  billing-alerts:\n", with: "  cs-smb:\n")
        let routeLine = try #require(Self.line(of: "destination: cs-smb", in: files.rules!.text))
        let policyLine = try #require(Self.line(of: "  cs-smb:", in: files.rules!.text))
        let known = "(known: customer-health, cs-escalations, revenue-signals, billing-alerts)"
        #expect(
            FleetConfigCheck.check(files, environment: Self.environment).map(\.description) == [
                "config/rules.yaml:\(routeLine): routes[3].destination: \"cs-smb\" is not a destination in config/destinations.yaml \(known)",
                "config/rules.yaml:\(policyLine): destinations.cs-smb: \"cs-smb\" is not a destination in config/destinations.yaml \(known)",
            ])
    }

    @Test func everyProblemOfEveryFileIsListedAtOnce() {
        let files = FleetConfigFiles(
            scoring: ConfigSource(path: "s.yaml", text: "zones:\n  healthy: 70\n  at_risk: 140\n"),
            rules: ConfigSource(
                path: "r.yaml",
                text: """
                    version: 1
                    rules:
                      - {name: r, type: customer_at_risk, when: {zone_in: [at_risk]}, severity: high}
                    routes:
                      - {destination: team}
                      - {destination: ghosts}
                    destinations:
                      team: {}
                      ghosts: {}
                    """),
            destinations: ConfigSource(
                path: "d.yaml",
                text: """
                    destinations:
                      team:
                        url: ${HOOK_TEAM}
                        burst: many
                      spare:
                        url: ${HOOK_SPARE}
                    """))
        #expect(
            FleetConfigCheck.check(files, environment: [:]).map(\.description) == [
                "s.yaml:3: zones.at_risk: 140 is outside 1...100",
                "d.yaml:3: destinations.team.url: environment variable HOOK_TEAM is not set or is empty",
                "d.yaml:4: destinations.team.burst: expected an integer >= 1",
                "d.yaml:6: destinations.spare.url: environment variable HOOK_SPARE is not set or is empty",
                "r.yaml:6: routes[1].destination: \"ghosts\" is not a destination in d.yaml (known: team, spare)",
                "r.yaml:9: destinations.ghosts: \"ghosts\" is not a destination in d.yaml (known: team, spare)",
            ])
    }

    @Test func syntaxErrorsCarryTheirLineInEveryFile() {
        let files = FleetConfigFiles(
            scoring: ConfigSource(path: "s.yaml", text: "zones:\n  healthy: 70\n  at_risk: [40\n"),
            rules: ConfigSource(path: "r.yaml", text: "version: 1\nrules: [\n"),
            destinations: ConfigSource(
                path: "d.yaml", text: "destinations:\n  a: {url: https://hooks.slack.invalid/T/B/SECRETTOKEN\n"))
        let problems = FleetConfigCheck.check(files, environment: [:])
        #expect(problems.map(\.file) == ["s.yaml", "r.yaml", "d.yaml"])
        #expect(problems.allSatisfy { $0.line != nil && $0.key == "(syntax)" })
        #expect(!problems.contains { $0.description.contains("SECRETTOKEN") })
    }

    @Test func aTimeKeySetInBothFilesIsRefused() throws {
        var files = try Self.examples()
        files.destinations!.text = files.destinations!.text.replacingOccurrences(
            of: """
                  url: ${SLACK_WEBHOOK_BILLING_ALERTS}
                """,
            with: """
                  url: ${SLACK_WEBHOOK_BILLING_ALERTS}
                    quiet_hours: {timezone: Europe/Berlin, windows: [{days: every_day, from: "21:00", to: "07:00"}]}
                """)
        let line = try #require(
            Self.line(of: "    quiet_hours: {timezone: Europe/Berlin", in: files.destinations!.text))
        let problems = FleetConfigCheck.check(files, environment: Self.environment)
        #expect(
            problems == [
                ConfigProblem(
                    file: "config/destinations.yaml", line: line, key: "destinations.billing-alerts.quiet_hours",
                    message:
                        "also set for billing-alerts in config/rules.yaml; set it in one file only (the destinations file's applies in the dispatcher)"
                )
            ])
    }

    @Test func theDestinationsFileWinsFieldByFieldOverTheRulesFile() throws {
        let rules = """
            version: 1
            rules:
              - {name: r, type: customer_at_risk, when: {zone_in: [at_risk]}, severity: high}
            routes:
              - {destination: team}
            destinations:
              team:
                digest: {every: day, at: "09:00", timezone: Europe/Paris}
            """
        let destinations = """
            destinations:
              team:
                url: https://hooks.slack.invalid/T/B/x
                quiet_hours: {timezone: Asia/Tokyo, windows: [{days: every_day, from: "20:00", to: "08:00"}]}
                group_wait: 5s
            """
        let loaded = try FleetConfigCheck.load(
            FleetConfigFiles(
                rules: ConfigSource(path: "r.yaml", text: rules),
                destinations: ConfigSource(path: "d.yaml", text: destinations)), environment: [:])
        let team = try #require(loaded.destinationPolicies["team"])
        #expect(team.quietHours?.timeZone == "Asia/Tokyo")
        #expect(team.digest?.timeZone == "Europe/Paris")
        #expect(team.groupWaitMs == 5_000)
        // The scoring file was not given: the built-in defaults.
        #expect(loaded.scoring == ScoringConfig())
    }

    @Test func aBadScheduleInTheDestinationsFileIsNamed() {
        let destinations = """
            destinations:
              team:
                url: https://hooks.slack.invalid/T/B/x
                quiet_hours: {timezone: Mars/Olympus, windows: [{days: every_day, from: "20:00", to: "08:00"}]}
            """
        let problems = FleetConfigCheck.check(
            FleetConfigFiles(destinations: ConfigSource(path: "d.yaml", text: destinations)), environment: [:])
        #expect(
            problems.map(\.description) == [
                "d.yaml:4: destinations.team.quiet_hours.timezone: unknown IANA time zone \"Mars/Olympus\""
            ])
    }

    @Test func anUnreadableFileIsAProblemNotACrash() {
        let read = FleetConfigFiles.read(scoring: nil, rules: "/nonexistent/rules.yaml", destinations: nil)
        #expect(read.files.rules == nil)
        #expect(read.problems.map(\.file) == ["/nonexistent/rules.yaml"])
        #expect(read.problems.first?.key == "(file)")
    }
}
