import AlertRules
import Contracts
import Foundation
import Testing

/// The repository's example rules (`config/rules.yaml`) against its fixtures (`config/rules-tests`),
/// exactly as `fleet-admin rules test` runs them.
@Suite struct ExampleRulesTests {
    static let rulesPath = TestSupport.repoRoot.appendingPathComponent("config/rules.yaml")
    static let fixturesDir = TestSupport.repoRoot.appendingPathComponent("config/rules-tests")

    static func exampleConfig() throws -> RulesConfig {
        try RulesConfig.parse(yaml: String(contentsOf: rulesPath, encoding: .utf8), file: "config/rules.yaml")
    }

    @Test func exampleRulesParse() throws {
        let config = try Self.exampleConfig()
        #expect(config.rules.count == 7)
        #expect(
            Set(config.routes.map(\.destination)) == [
                "customer-health", "cs-escalations", "revenue-signals", "billing-alerts",
            ])
    }

    @Test func exampleFixturesPass() throws {
        let config = try Self.exampleConfig()
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.fixturesDir.path).filter {
            $0.hasSuffix(".yaml")
        }.sorted()
        #expect(files.count >= 3)
        for file in files {
            let text = try String(contentsOf: Self.fixturesDir.appendingPathComponent(file), encoding: .utf8)
            let fixture = try RulesTestFixture.parse(yaml: text, file: "config/rules-tests/\(file)")
            let result = RulesTestRunner.run(config: config, fixture: fixture)
            #expect(result.passed, "\(result.report)")
        }
    }

    @Test func aMismatchGivesAReadableDiff() throws {
        let config = try Self.exampleConfig()
        let fixture = try RulesTestFixture.parse(
            yaml: """
                accounts:
                  acme: {tier: enterprise, owner: U1}
                steps:
                  - {at: 2026-11-17T15:00:00Z, account: acme, score: 80}
                  - {at: 2026-11-18T15:00:00Z, account: acme, score: 60}
                expect:
                  - {type: customer_at_risk, account: acme, destination: cs-escalations, priority: P2}
                """, file: "wrong.yaml")
        let result = RulesTestRunner.run(config: config, fixture: fixture)
        #expect(!result.passed)
        #expect(result.missing.count == 1)
        #expect(result.report.contains("  - customer_at_risk acme -> cs-escalations P2 at once   (wrong.yaml:7)"))
        #expect(
            result.report.contains(
                "  + customer_at_risk acme -> cs-escalations P1 high raised 2026-11-18T15:00:00Z at once"))
    }
}

/// Fixture parsing: recorded records verbatim, and errors with file, line and key.
@Suite struct RulesTestFixtureTests {
    @Test func aRecordedHealthScoresRecordCanBePastedVerbatim() throws {
        let record = TestSupport.record("acme", at: "2026-11-18T15:00:00Z", score: 55, tier: .midMarket)
        let json = String(decoding: try RecordCoding.encode(record), as: UTF8.self)
        let yaml = """
            steps:
              - record_json: '\(json)'
            expect:
              - {type: customer_at_risk, account: acme, destination: cs-escalations, priority: P2}
              - {type: customer_at_risk, account: acme, destination: customer-health, priority: P2}
            """
        let fixture = try RulesTestFixture.parse(yaml: yaml, file: "recorded.yaml")
        guard case .record(let parsed) = fixture.steps.first else {
            Issue.record("expected a record step")
            return
        }
        #expect(parsed == record)
        let result = RulesTestRunner.run(config: try ExampleRulesTests.exampleConfig(), fixture: fixture)
        #expect(result.passed, "\(result.report)")
    }

    @Test func badFixturesNameFileLineAndKey() {
        #expect(
            throws: AlertRulesError.invalidConfig(
                file: "f.yaml", line: 3, key: "steps[1].at",
                reason: "time goes backwards (previous step at 2026-11-18T15:00:00Z)")
        ) {
            try RulesTestFixture.parse(
                yaml: """
                    steps:
                      - {at: 2026-11-18T15:00:00Z, account: a, score: 50}
                      - {at: 2026-11-18T14:00:00Z, account: a, score: 50}
                    """, file: "f.yaml")
        }
        #expect(
            throws: AlertRulesError.invalidConfig(
                file: "f.yaml", line: 3, key: "expect[0].priority", reason: "expected P1 to P9")
        ) {
            try RulesTestFixture.parse(
                yaml: """
                    steps: []
                    expect:
                      - {type: customer_at_risk, account: a, destination: x, priority: P0}
                    """, file: "f.yaml")
        }
    }
}
