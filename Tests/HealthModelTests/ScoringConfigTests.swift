import Contracts
import Foundation
import TestSupport
import Testing

@testable import HealthModel

@Suite struct ScoringConfigTests {
    @Test func theExampleScoringFileIsTheBuiltInDefaults() throws {
        // Tests/HealthModelTests/ -> ../../config/scoring.yaml (through the sandbox symlink, if any).
        let here = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        let file = here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("config/scoring.yaml")
        let text = try String(contentsOf: file, encoding: .utf8)
        let loaded = try ScoringConfig(yaml: text, file: "scoring.yaml")
        #expect(loaded == ScoringConfig())
    }

    /// docs/tuning.md's examples are scoring files the parser accepts, each changing what it says.
    @Test func theTuningPagesExamplesParse() throws {
        let blocks = try MarkdownExamples.yamlBlocks(ofFile: "docs/tuning.md")
        #expect(blocks.count == 2)
        var configs: [ScoringConfig] = []
        for block in blocks {
            do { configs.append(try ScoringConfig(yaml: block.text, file: "docs/tuning.md:\(block.line)")) } catch {
                Issue.record("docs/tuning.md line \(block.line): \(error)")
            }
        }
        guard configs.count == 2 else { return }
        #expect(configs[0].inactivityAtOnceExpected == 20 && configs[0].inactivityFullExpected == 20)
        #expect(configs[1].dropPower == 2 && configs[1].holidays["Europe/Berlin"]?.count == 3)
    }

    @Test func keysLeftOutKeepTheirDefaults() throws {
        let config = try ScoringConfig(yaml: "zones:\n  healthy: 75\nweights:\n  support: 0.5\n", file: "s.yaml")
        #expect(config.healthyAtLeast == 75)
        #expect(config.weights.support == 0.5)
        #expect(config.atRiskAtLeast == 40)
        #expect(config.zone(of: 72) == .atRisk)
        #expect(try ScoringConfig(yaml: "", file: "empty.yaml") == ScoringConfig())
    }

    @Test(arguments: [
        (
            "zones:\n  healthy: 70\n  helthy: 60\n",
            HealthModelError.config(file: "bad.yaml", key: "zones.helthy", line: 3, reason: "unknown key")
        ),
        (
            "emit:\n  score_step: two\n",
            .config(file: "bad.yaml", key: "emit.score_step", line: 2, reason: "expected an integer, got 'two'")
        ),
        (
            "weights:\n  product_usage: -1\n",
            .config(file: "bad.yaml", key: "weights.product_usage", line: 2, reason: "-1 is outside 0.0...100.0")
        ),
        (
            "zones:\n  healthy: 50\n  at_risk: 60\n",
            .config(file: "bad.yaml", key: "zones.at_risk", line: 3, reason: "must not be above zones.healthy (50)")
        ),
        (
            "state:\n  horizon_days: 20\n",
            .config(
                file: "bad.yaml", key: "state.horizon_days", line: 2,
                reason:
                    "must cover the baseline, the recent window, the decline lag and every signal's days (at least 50)")
        ),
        (
            "weights:\n  - 1\n  - 2\n",
            .config(file: "bad.yaml", key: "weights", line: 2, reason: "expected a value or a mapping, not a list")
        ),
        (
            "signals:\n  inactivity:\n    per_day: .nan\n",
            .config(
                file: "bad.yaml", key: "signals.inactivity.per_day", line: 3, reason: "expected a number, got '.nan'")
        ),
        (
            "baseline:\n  drop_power: 0.5\n",
            .config(file: "bad.yaml", key: "baseline.drop_power", line: 2, reason: "0.5 is outside 1.0...4.0")
        ),
        ("just text", .config(file: "bad.yaml", key: "(document)", line: 1, reason: "expected a mapping of sections")),
    ])
    func aBadFileFailsWithFileKeyLineAndReason(yaml: String, expected: HealthModelError) {
        #expect(throws: expected) { _ = try ScoringConfig(yaml: yaml, file: "bad.yaml") }
    }

    @Test func brokenYAMLNamesTheFile() {
        do {
            _ = try ScoringConfig(yaml: "zones: [unclosed", file: "broken.yaml")
            Issue.record("accepted broken YAML")
        } catch {
            #expect(error.description.hasPrefix("broken.yaml: (document): not valid YAML"))
        }
    }

    @Test func weightsChangeTheScore() {
        var f = EventFactory(account: "a")
        let noon = Timestamp(year: 2026, month: 11, day: 20, hour: 12)
        var config = ScoringConfig()
        config.weights = FamilyScores(productUsage: 0, engagement: 0, support: 0, commercial: 1)
        let commercialOnly = HealthScorer(config: config)
        let defaults = HealthScorer()
        var a = commercialOnly.makeState(accountId: "a")
        var b = defaults.makeState(accountId: "a")
        let event = f.make(.paymentFailed, at: noon, EventProperties(paymentId: "p1"))
        let ra = commercialOnly.apply(event, to: &a).record!
        let rb = defaults.apply(event, to: &b).record!
        #expect(ra.score == 75 && rb.score == 94)
    }
}
