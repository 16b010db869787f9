import AlertRules
import Foundation
import TestSupport
import Testing

/// docs/rules.md cannot drift from the parser: every YAML block in it is a complete rules file
/// that `RulesConfig.parse` reads, and every top-level key the parser knows is documented.
@Suite struct RulesReferenceTests {
    static let doc: String = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return (try? String(contentsOf: root.appendingPathComponent("docs/rules.md"), encoding: .utf8)) ?? ""
    }()

    static func yamlBlocks(of doc: String = doc) -> [(line: Int, text: String)] {
        MarkdownExamples.yamlBlocks(in: doc)
    }

    @Test func everyExampleIsAFileTheParserReads() throws {
        let blocks = Self.yamlBlocks()
        #expect(blocks.count >= 7, "docs/rules.md has \(blocks.count) yaml examples")
        for block in blocks {
            #expect(throws: Never.self, "docs/rules.md example at line \(block.line)") {
                _ = try RulesConfig.parse(yaml: block.text, file: "docs/rules.md:\(block.line)")
            }
        }
    }

    @Test func everyKeyOfTheParserIsDocumented() {
        let keys = [
            "version", "defaults", "rules", "routes", "destinations", "inhibit", "suppress", "priorities",
            "cooldown", "repeat_interval", "repeat_when_worse_by", "dedup_window", "tier", "severity_by_zone", "for",
            "action", "playbook", "zone_in", "recover_at_score", "drop", "crosses_below", "trigger", "signal",
            "min_score", "at_least", "episode_ended", "continue", "min_severity", "tiers", "zones", "min_mrr",
            "accounts", "owners", "quiet_hours", "windows", "digest", "weekday", "max_severity", "mute",
            "sla", "respond_within", "escalate_to", "max_escalations", "mentions", "business_hours",
            "direct_message_owner_via",
        ]
        for key in keys {
            #expect(Self.doc.contains("`\(key)") || Self.doc.contains(".\(key)`"), "\(key) undocumented")
        }
    }

    /// The time keys of docs/destinations.md's examples are read by the dispatcher's schedule parser.
    @Test func theTimePoliciesOfTheDestinationsReferenceParse() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let doc = try String(contentsOf: root.appendingPathComponent("docs/destinations.md"), encoding: .utf8)
        let blocks = Self.yamlBlocks(of: doc)
        #expect(blocks.count >= 3)
        var policies = 0
        for block in blocks {
            let parsed = try DestinationPolicy.parseAll(
                destinationsYAML: block.text, file: "docs/destinations.md:\(block.line)")
            policies += parsed.values.filter { $0.quietHours != nil || $0.digest != nil || $0.groupWaitMs != nil }.count
        }
        #expect(policies >= 2, "the examples' time policies were not read")
    }

    /// A duration no Int64 of milliseconds holds is a config error naming its line, not a trap.
    @Test func anAbsurdDurationIsRefusedWithItsLine() {
        let yaml = """
            version: 1
            defaults:
              cooldown: 99999999999999w
            rules: []
            routes: []
            destinations: {}
            """
        #expect(throws: (any Error).self) { _ = try RulesConfig.parse(yaml: yaml, file: "absurd.yaml") }
        do {
            _ = try RulesConfig.parse(yaml: yaml, file: "absurd.yaml")
        } catch {
            #expect("\(error)".contains("absurd.yaml:3") && "\(error)".contains("too long"), "\(error)")
        }
    }

    @Test func theExampleRulesFileOfTheRepositoryStillParses() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let path = root.appendingPathComponent("config/rules.yaml").path
        _ = try RulesConfig.parse(yaml: try String(contentsOfFile: path, encoding: .utf8), file: path)
    }
}
