import AlertRules
import Testing

/// `RulesConfig.check` (what `fleet-admin rules check` and `check-config` print) reports every
/// problem of a rules file in one run, in file order, without follow-on noise.
@Suite struct RulesCheckAllProblemsTests {
    static let threeProblems = """
        version: 1
        defaults:
          cooldown: soon
        rules:
          - name: at-risk
            type: customer_at_risk
            when: {zone_in: [at_risk]}
            severity: urgent
          - name: ok
            type: customer_at_risk
            when: {zone_in: [at_risk]}
            severity: high
          - name: ok
            type: customer_at_risk
            when: {zone_in: [at_risk]}
            severity: low
        routes:
          - {destination: team}
          - {destination: nowhere}
        destinations:
          team: {}
        """

    @Test func everyProblemIsReportedWithItsLineInFileOrder() {
        let checked = RulesConfig.check(yaml: Self.threeProblems, file: "team/rules.yaml")
        #expect(checked.config == nil)
        let found = checked.problems.map { problem -> String in
            guard case .invalidConfig(_, let line, let key, _) = problem else { return "\(problem)" }
            return "\(line.map(String.init) ?? "-") \(key)"
        }
        #expect(
            found == ["3 defaults.cooldown", "8 rules[0].severity", "13 rules[2].name", "19 routes[1].destination"],
            "\(checked.problems.map(\.description))")
    }

    @Test func parseThrowsTheFirstOfThem() {
        #expect(throws: AlertRulesError.self) { try RulesConfig.parse(yaml: Self.threeProblems, file: "x") }
        do {
            _ = try RulesConfig.parse(yaml: Self.threeProblems, file: "team/rules.yaml")
        } catch let error as AlertRulesError {
            #expect(error == RulesConfig.check(yaml: Self.threeProblems, file: "team/rules.yaml").problems.first)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func aBrokenStructureStopsAtOneProblem() {
        for yaml in ["version: 2\nrules: []\nroutes: []\ndestinations: {}", "- not a map", "version: 1\nrulez: []"] {
            let checked = RulesConfig.check(yaml: yaml, file: "x")
            #expect(checked.config == nil && checked.problems.count == 1, "\(yaml): \(checked.problems)")
        }
    }

    @Test func aValidFileHasNoProblemAndAConfig() {
        let valid = """
            version: 1
            rules:
              - {name: a, type: customer_at_risk, when: {zone_in: [at_risk]}, severity: high}
            routes:
              - {destination: team}
            destinations:
              team: {}
            """
        let checked = RulesConfig.check(yaml: valid, file: "x")
        #expect(checked.problems.isEmpty && checked.config?.rules.count == 1, "\(checked.problems)")
    }
}
