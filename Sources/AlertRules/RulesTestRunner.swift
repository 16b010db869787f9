import Contracts

/// The outcome of running a fixture against a rules file.
public struct RulesTestResult: Sendable {
    public var name: String
    public var file: String
    /// Every alert the rules raised, in order.
    public var produced: [AlertRecord]
    /// Expected alerts that were not raised.
    public var missing: [ExpectedAlert]
    /// Raised alerts that were not expected.
    public var unexpected: [AlertRecord]

    public var passed: Bool { missing.isEmpty && unexpected.isEmpty }

    /// A readable report: one line when it passed, a diff (`-` expected but missing, `+` raised but
    /// not expected) when it did not.
    public var report: String {
        if passed { return "PASS \(file): \(name) (\(produced.count) alerts)" }
        var lines = ["FAIL \(file): \(name) (\(missing.count) missing, \(unexpected.count) unexpected)"]
        for m in missing { lines.append("  - \(m)\(m.line.map { "   (\(file):\($0))" } ?? "")") }
        for u in unexpected { lines.append("  + \(ExpectedAlert.describe(u))") }
        return lines.joined(separator: "\n")
    }
}

/// Runs rules against recorded fixtures: a pure function, so a team's CI and this repo's tests run
/// exactly what `fleet-admin rules test` runs.
public enum RulesTestRunner {
    /// Feeds the fixture's steps through a `PartitionEvaluator` (time advances to each record's time
    /// before it is evaluated) and compares the alerts raised with the expected ones, as a multiset.
    public static func run(config: RulesConfig, fixture: RulesTestFixture) -> RulesTestResult {
        var evaluator = PartitionEvaluator(engine: RulesEngine(config: config))
        var produced: [AlertRecord] = []
        for step in fixture.steps {
            switch step {
            case .record(let record):
                produced += evaluator.advance(to: record.validAt)
                produced += evaluator.process(record)
            case .advance(let t):
                produced += evaluator.advance(to: t)
            }
        }
        var unmatched = produced
        var missing: [ExpectedAlert] = []
        for expected in fixture.expected {
            if let i = unmatched.firstIndex(where: expected.matches) {
                unmatched.remove(at: i)
            } else {
                missing.append(expected)
            }
        }
        return RulesTestResult(
            name: fixture.name, file: fixture.file, produced: produced, missing: missing, unexpected: unmatched)
    }
}
