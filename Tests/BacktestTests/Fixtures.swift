import AlertRules
import Backtest
import Contracts
import Foundation
import HealthModel
import Testing

/// Shared fixtures: a small sample with every story (20 accounts, 60 days) and the example rules.
enum Fixtures {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let rulesText: String =
        (try? String(contentsOf: repoRoot.appendingPathComponent("config/rules.yaml"), encoding: .utf8)) ?? ""

    static func rules(_ text: String = rulesText) throws -> RulesEngine {
        RulesEngine(config: try RulesConfig.parse(yaml: text, file: "rules.yaml"))
    }

    static let generator = SampleGenerator(options: .init(seed: 42, accounts: 20, days: 60))

    /// The sample as JSON lines.
    static let sample: [UInt8] = {
        var out: [UInt8] = []
        for line in generator.allLines() {
            out += line
            out.append(0x0A)
        }
        return out
    }()

    /// The sample backtested with the example rules (computed once).
    static let result: BacktestResult = {
        Backtest.run(sample, engines: [try! rules()])
    }()

    static func day(_ index: Int) -> Timestamp { generator.options.start.adding(days: Int64(index)) }

    /// `text` with one exact substring replaced (fails loudly if it is not there).
    static func replacing(_ old: String, with new: String, in text: String = rulesText) -> String {
        precondition(text.contains(old), "the example rules no longer contain: \(old)")
        return text.replacingOccurrences(of: old, with: new)
    }
}
