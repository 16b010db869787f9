import AlertRules
import Contracts
import Testing

/// A bad rules file fails with the file, the line, the key and the reason.
@Suite struct RulesConfigParsingTests {
    typealias T = TestSupport

    func error(_ yaml: String) -> AlertRulesError? {
        do {
            _ = try RulesConfig.parse(yaml: yaml, file: "team/rules.yaml")
            return nil
        } catch let e as AlertRulesError {
            return e
        } catch {
            return nil
        }
    }

    func expectError(_ yaml: String, line: Int?, key: String, reasonContains: String) {
        guard case .invalidConfig(let file, let l, let k, let reason) = error(yaml) else {
            Issue.record("expected an invalidConfig error")
            return
        }
        #expect(file == "team/rules.yaml")
        #expect(l == line)
        #expect(k == key)
        #expect(reason.contains(reasonContains), "\(reason)")
    }

    static let valid = """
        version: 1
        rules:
          - name: at-risk
            type: customer_at_risk
            when: {zone_in: [at_risk]}
            severity: high
        routes:
          - {destination: team}
        destinations:
          team: {}
        """

    @Test func aValidFileParses() throws {
        let config = try RulesConfig.parse(yaml: Self.valid, file: "x")
        #expect(config.rules.first?.condition == .zoneIn(zones: [.atRisk], recoverAtScore: nil))
        let cooldown: Int64? = config.rules.first?.cooldownMs
        #expect(cooldown == Int64(43_200_000))
        #expect(config.routes.first?.name == "route-1")
    }

    @Test func unknownSeverityNamesLineKeyAndChoices() {
        expectError(
            Self.valid.replacingOccurrences(of: "severity: high", with: "severity: urgent"),
            line: 6, key: "rules[0].severity",
            reasonContains: "unknown value \"urgent\"; expected one of low, medium, high, critical")
    }

    @Test func aTypoInAKeyIsCaught() {
        expectError(
            Self.valid.replacingOccurrences(of: "when:", with: "wehn:"),
            line: 5, key: "rules[0].wehn", reasonContains: "unknown key")
    }

    @Test func aRouteToAnUndeclaredDestination() {
        expectError(
            Self.valid.replacingOccurrences(of: "{destination: team}", with: "{destination: teem}"),
            line: 8, key: "routes[0].destination", reasonContains: "\"teem\" is not declared")
    }

    @Test func missingKeysAndBadValues() {
        expectError(
            Self.valid.replacingOccurrences(of: "version: 1\n", with: ""), line: 1, key: "version",
            reasonContains: "missing required key")
        expectError(
            Self.valid.replacingOccurrences(of: "[at_risk]", with: "[healthy]"), line: 5,
            key: "rules[0].when.zone_in[0]", reasonContains: "unknown value")
        expectError(
            Self.valid + "\ndefaults: {cooldown: 12 hours}", line: 11, key: "defaults.cooldown",
            reasonContains: "expected a duration")
        expectError(Self.valid + "  - name: at-risk\n", line: 10, key: "(syntax)", reasonContains: "not valid YAML")
    }

    @Test func badTimeZonesAndTimesOfDay() {
        let quiet = Self.valid.replacingOccurrences(
            of: "  team: {}",
            with: """
                  team:
                    quiet_hours:
                      timezone: America/Nowhere
                      windows: [{days: weekdays, from: "19:00", to: "08:00"}]
                """)
        expectError(
            quiet, line: 12, key: "destinations.team.quiet_hours.timezone", reasonContains: "unknown IANA time zone")
        let badTime = quiet.replacingOccurrences(of: "America/Nowhere", with: "Europe/Berlin").replacingOccurrences(
            of: "\"19:00\"", with: "\"25:00\"")
        expectError(badTime, line: 13, key: "destinations.team.quiet_hours.windows[0].from", reasonContains: "HH:MM")
        let badDay = quiet.replacingOccurrences(of: "America/Nowhere", with: "Europe/Berlin").replacingOccurrences(
            of: "weekdays", with: "someday")
        expectError(
            badDay, line: 13, key: "destinations.team.quiet_hours.windows[0].days", reasonContains: "expected days")
    }

    @Test func recoveredMustNameARuleWithEpisodes() {
        let yaml = Self.valid.replacingOccurrences(
            of: "routes:",
            with: """
                  - name: back
                    type: recovered
                    when: {episode_ended: at-rsik}
                    severity: low
                routes:
                """)
        expectError(yaml, line: 9, key: "rules[1].when.episode_ended", reasonContains: "no rule named \"at-rsik\"")
    }

    @Test func duplicateRuleNamesAndSyntaxErrors() {
        let dup = Self.valid.replacingOccurrences(
            of: "routes:",
            with: """
                  - name: at-risk
                    type: customer_at_risk
                    when: {zone_in: [critical]}
                    severity: critical
                routes:
                """)
        expectError(dup, line: 7, key: "rules[1].name", reasonContains: "duplicate rule name")
        guard case .invalidConfig(_, let line, let key, _) = error("version: 1\nrules: [\n  - a: b") else {
            Issue.record("expected a syntax error")
            return
        }
        #expect(key == "(syntax)")
        #expect(line != nil)
        #expect(
            error("")
                == .invalidConfig(file: "team/rules.yaml", line: nil, key: "(top level)", reason: "the file is empty"))
    }

    @Test func aDuplicateKeyOrAnUnclosedMappingIsNamedWithItsLineWithoutDumpingTheFile() {
        #expect(
            error("version: 1\nrules: []\nversion: 2\n")
                == .invalidConfig(file: "team/rules.yaml", line: 1, key: "version", reason: "duplicate key"))
        let unclosed = error("version: 1\nroutes:\n  - {destination: team\nrules: []\n")
        guard case .invalidConfig(_, let line, let key, let reason) = unclosed else {
            Issue.record("expected a syntax error")
            return
        }
        #expect(key == "(syntax)")
        #expect(line == 4)
        #expect(!reason.contains("routes:"), "the YAML text is not repeated: \(reason)")
    }

    @Test func theErrorReadsFileLineKeyReason() {
        let e = AlertRulesError.invalidConfig(file: "rules.yaml", line: 12, key: "routes[0].destination", reason: "bad")
        #expect(e.description == "rules.yaml:12: routes[0].destination: bad")
    }
}
