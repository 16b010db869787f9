import AlertRules
import Backtest
import Contracts
import TestSupport
import Testing

@Suite struct ComparisonTests {
    func compare(_ other: String) throws -> (RuleSetComparison, BacktestResult) {
        let result = Backtest.run(Fixtures.sample, engines: [try Fixtures.rules(), try Fixtures.rules(other)])
        let c = RuleSetComparison(
            a: BacktestAlert.group(result.runs[0].raised), b: BacktestAlert.group(result.runs[1].raised))
        return (c, result)
    }

    @Test func theSameRulesDifferInNothing() async throws {
        try await CPULane.run {
            let (c, result) = try compare(Fixtures.rulesText)
            #expect(c.onlyInA.isEmpty && c.onlyInB.isEmpty && c.changed.isEmpty)
            #expect(c.same.count == BacktestAlert.group(result.runs[0].raised).count)
        }
    }

    @Test func aRoutingChangeShowsAsChangedChannels() async throws {
        try await CPULane.run {
            // B sends everything of medium severity and above to cs-escalations.
            let other = Fixtures.replacing(
                """
                      types: [customer_at_risk, health_score_drop]
                      min_severity: high
                """,
                with: """
                          types: [customer_at_risk, health_score_drop]
                          min_severity: medium
                    """)
            let (c, _) = try compare(other)
            #expect(c.onlyInA.isEmpty && c.onlyInB.isEmpty)
            #expect(!c.changed.isEmpty)
            #expect(
                c.changed.allSatisfy {
                    $0.channelsChanged && !$0.priorityChanged && $0.b.destinations["cs-escalations"] != nil
                })
            #expect(c.changed.allSatisfy { $0.a.severity == .medium })
            #expect(c.changed[0].differences == ["channels +cs-escalations"])
        }
    }

    @Test func aPriorityOverrideShowsAsChangedPriority() async throws {
        try await CPULane.run {
            let other = Fixtures.replacing(
                "# priorities:\n#   medium: {enterprise: P2}", with: "priorities:\n  medium: {enterprise: P2}")
            let (c, _) = try compare(other)
            #expect(!c.changed.isEmpty)
            #expect(
                c.changed.allSatisfy {
                    $0.priorityChanged && $0.a.priority.rawValue == "P3" && $0.b.priority.rawValue == "P2"
                })
            #expect(c.onlyInA.isEmpty && c.onlyInB.isEmpty)
        }
    }

    @Test func aRemovedRuleShowsItsAlertsOnlyInA() throws {
        // B asks for a drop of 90 points: the sharp-score-drop rule never fires.
        let other = Fixtures.replacing("drop: {points: 15, within: 7d}", with: "drop: {points: 90, within: 7d}")
        let (c, result) = try compare(other)
        let drops = BacktestAlert.group(result.runs[0].raised).filter { $0.rule == "sharp-score-drop" }
        #expect(!drops.isEmpty)
        #expect(Set(c.onlyInA.map(\.alertId)).isSubset(of: drops.map(\.alertId)))
        #expect(c.onlyInA.count >= drops.count - 1)
        // A drop alert not only in A is B's alert of the same type for the account within the window:
        // with the drop rule silent, B's score-below-40 is no longer covered by its cooldown.
        #expect(!(c.same + c.changed).contains { $0.b.rule == "sharp-score-drop" })
        #expect(c.onlyInB.allSatisfy { $0.rule != "sharp-score-drop" })
        let lines = c.lines(nameA: "a.yaml", nameB: "b.yaml")
        #expect(lines.contains { $0.hasPrefix("only in A (\(c.onlyInA.count))") })
    }

    @Test func aLaterThresholdMatchesTheSameAlertRaisedLater() {
        func alert(_ id: String, _ day: Int64, priority: Int = 4) -> BacktestAlert {
            let record = AlertRecord(
                alertId: id, type: .customerAtRisk, severity: .high, priority: Priority(level: priority)!,
                destination: "cs", accountId: "acme",
                raisedAt: Timestamp(year: 2026, month: 10, day: 1).adding(days: day), rule: "r")
            return BacktestAlert.group([RaisedAlert(alert: record, disposition: .now)])[0]
        }
        let c = RuleSetComparison(
            a: [alert("a1", 0), alert("a2", 20)], b: [alert("b1", 2, priority: 3), alert("b2", 30)])
        #expect(c.changed.count == 1)
        #expect(c.changed.first?.differences == ["priority P4 -> P3", "raised 2d later"])
        #expect(c.onlyInA.map(\.alertId) == ["a2"])
        #expect(c.onlyInB.map(\.alertId) == ["b2"])
    }
}
