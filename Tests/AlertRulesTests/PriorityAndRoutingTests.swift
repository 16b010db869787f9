import AlertRules
import Contracts
import Testing

@Suite struct PriorityMatrixTests {
    @Test(arguments: [
        (Severity.critical, Tier.enterprise, 1), (.critical, .midMarket, 2), (.critical, .smb, 4),
        (.high, .enterprise, 1), (.high, .midMarket, 2), (.high, .smb, 4),
        (.medium, .enterprise, 3), (.medium, .midMarket, 5), (.medium, .smb, 7),
        (.low, .enterprise, 6), (.low, .midMarket, 8), (.low, .smb, 9),
    ])
    func standardMatrix(severity: Severity, tier: Tier, level: Int) {
        #expect(PriorityMatrix.standard.priority(severity: severity, tier: tier).level == level)
    }

    @Test func alertsCarryThePriorityOfTheirTierAndAFileMayOverrideCells() throws {
        let yaml = TestSupport.rules(TestSupport.atRiskRule, extra: "priorities:\n  high: {smb: P3}")
        var run = Run(try TestSupport.engine(yaml))
        let smb = run.feed(TestSupport.record("small", at: "2026-11-02T12:00:00Z", score: 60, tier: .smb))
        #expect(smb.first?.priority.rawValue == "P3")
        var run2 = Run(try TestSupport.engine(yaml))
        let mid = run2.feed(TestSupport.record("mid", at: "2026-11-02T12:00:00Z", score: 60, tier: .midMarket))
        #expect(mid.first?.priority.rawValue == "P2")
        // No tier in the profile: the file's default tier (smb unless set).
        var run3 = Run(try TestSupport.engine(yaml))
        let none = run3.feed(TestSupport.record("none", at: "2026-11-02T12:00:00Z", score: 60, tier: nil))
        #expect(none.first?.priority.rawValue == "P3")
    }
}

@Suite struct RoutingTests {
    typealias T = TestSupport
    static let rules =
        T.atRiskRule + """

              - name: seats
                type: expansion_signal
                when: {signal: {code: seats_growth, at_least: 0.2}}
                severity: low
            """
    static let destinations = "  team: {}\n  escalations: {}\n  revenue: {}\n  big: {}\n  owner-x: {}\n  fallback: {}"

    func destinations(_ routes: String, _ record: ScoreRecord) throws -> [String] {
        var run = Run(try T.engine(T.rules(Self.rules, destinations: Self.destinations, routes: routes)))
        return run.feed(record).map(\.destination)
    }

    @Test func firstMatchWinsWithoutContinue() throws {
        let routes = """
              - {destination: escalations, match: {types: [customer_at_risk], min_severity: high}}
              - {destination: team}
            """
        #expect(try destinations(routes, T.record(at: "2026-11-02T12:00:00Z", score: 60)) == ["escalations"])
        #expect(
            try destinations(
                routes, T.record(at: "2026-11-02T12:00:00Z", score: 80, positive: [T.signal("seats_growth", 0.3)])) == [
                    "team"
                ])
    }

    @Test func continueLetsLaterRoutesMatchToo() throws {
        let routes = """
              - {destination: team, continue: true}
              - {destination: escalations, match: {types: [customer_at_risk], min_severity: high}}
              - {destination: revenue, match: {types: [expansion_signal]}}
              - {destination: fallback}
            """
        #expect(try destinations(routes, T.record(at: "2026-11-02T12:00:00Z", score: 60)) == ["team", "escalations"])
        #expect(
            try destinations(
                routes, T.record(at: "2026-11-02T12:00:00Z", score: 80, positive: [T.signal("seats_growth", 0.3)])) == [
                    "team", "revenue",
                ])
    }

    @Test func matchersOnSeverityTierZoneMRRAccountAndOwner() throws {
        let routes = """
              - {destination: escalations, match: {min_severity: critical}, continue: true}
              - {destination: big, match: {tiers: [enterprise], min_mrr: 20000}, continue: true}
              - {destination: owner-x, match: {owners: [U0X], zones: [at_risk]}, continue: true}
              - {destination: revenue, match: {accounts: [special]}, continue: true}
            """
        #expect(try destinations(routes, T.record(at: "2026-11-02T12:00:00Z", score: 30)) == ["escalations"])
        #expect(try destinations(routes, T.record(at: "2026-11-02T12:00:00Z", score: 60, mrr: 25_000)) == ["big"])
        #expect(
            try destinations(routes, T.record(at: "2026-11-02T12:00:00Z", score: 60, tier: .smb, mrr: 25_000)).isEmpty)
        #expect(try destinations(routes, T.record(at: "2026-11-02T12:00:00Z", score: 60, owner: "U0X")) == ["owner-x"])
        #expect(
            try destinations(routes, T.record(at: "2026-11-02T12:00:00Z", score: 35, owner: "U0X")) == ["escalations"])
        #expect(try destinations(routes, T.record("special", at: "2026-11-02T12:00:00Z", score: 60)) == ["revenue"])
    }

    @Test func oneRecordPerDestinationWithTheSameAlertId() throws {
        let routes = """
              - {destination: team, continue: true}
              - {destination: team, continue: true}
              - {destination: escalations}
            """
        var run = Run(try T.engine(T.rules(Self.rules, destinations: Self.destinations, routes: routes)))
        let alerts = run.feed(T.record(at: "2026-11-02T12:00:00Z", score: 60))
        #expect(alerts.map(\.destination) == ["team", "escalations"])
        #expect(Set(alerts.map(\.alertId)).count == 1)
        #expect(Set(alerts.map(\.deliveryKey)).count == 2)
    }
}
