import AlertRules
import Contracts
import Testing

/// One test per alert type: what raises it and what does not.
@Suite struct AlertTypeTests {
    typealias T = TestSupport

    @Test func customerAtRiskOnEnteringAtRiskOrCritical() throws {
        var run = Run(try T.engine(T.rules(T.atRiskRule)))
        #expect(run.feed(T.record(at: "2026-11-16T12:00:00Z", score: 80)).isEmpty)
        let alerts = run.feed(T.record(at: "2026-11-17T12:00:00Z", score: 65, previous: 80))
        #expect(alerts.count == 1)
        #expect(alerts.first?.type == .customerAtRisk)
        #expect(alerts.first?.severity == .high)
        #expect(alerts.first?.mention == "U0OWNER")
        #expect(alerts.first?.score?.score == 65)
        #expect(alerts.first?.rule == "at-risk")
    }

    @Test func healthScoreDropByPointsWithinWindow() throws {
        let rule = """
              - name: drop
                type: health_score_drop
                when: {drop: {points: 15, within: 7d}}
                severity: medium
            """
        var run = Run(try T.engine(T.rules(rule)))
        #expect(run.feed(T.record(at: "2026-11-01T12:00:00Z", score: 90)).isEmpty)
        // 14 points below the best of the week: not yet.
        #expect(run.feed(T.record(at: "2026-11-03T12:00:00Z", score: 76)).isEmpty)
        let alerts = run.feed(T.record(at: "2026-11-04T12:00:00Z", score: 75))
        #expect(alerts.map(\.type) == [.healthScoreDrop])
        #expect(alerts.first?.severity == .medium)

        // The alert carries the drop over the rule's window, not the last step (76 -> 75); the 90
        // counts from the last moment it was held (just before the 76 arrived).
        #expect(
            alerts.first?.drop
                == ScoreDrop(
                    points: 15, fromScore: 90,
                    fromAt: Timestamp(
                        millisecondsSinceEpoch: T.time("2026-11-03T12:00:00Z").millisecondsSinceEpoch - 1),
                    windowMs: 7 * 86_400_000))

        // The same fall spread over more than the window does not alert.
        var slow = Run(try T.engine(T.rules(rule)))
        #expect(slow.feed(T.record("slow", at: "2026-11-01T12:00:00Z", score: 90)).isEmpty)
        #expect(slow.feed(T.record("slow", at: "2026-11-06T12:00:00Z", score: 82)).isEmpty)
        #expect(slow.feed(T.record("slow", at: "2026-11-13T12:00:00Z", score: 74)).isEmpty)

        // A score held for weeks sends no records: a fall from it is still a fall from it.
        var steady = Run(try T.engine(T.rules(rule)))
        #expect(steady.feed(T.record("steady", at: "2026-11-01T12:00:00Z", score: 100)).isEmpty)
        #expect(steady.feed(T.record("steady", at: "2026-11-22T05:00:00Z", score: 94)).isEmpty)
        #expect(
            steady.feed(T.record("steady", at: "2026-11-25T05:00:00Z", score: 84)).map(\.type) == [.healthScoreDrop])
    }

    @Test func healthScoreDropOnCrossingALine() throws {
        let rule = """
              - name: below-40
                type: health_score_drop
                when: {crosses_below: 40}
                severity: high
            """
        var run = Run(try T.engine(T.rules(rule)))
        #expect(run.feed(T.record(at: "2026-11-01T12:00:00Z", score: 45)).isEmpty)
        let crossing = run.feed(T.record(at: "2026-11-02T12:00:00Z", score: 39))
        #expect(crossing.map(\.type) == [.healthScoreDrop])
        #expect(crossing.first?.drop == ScoreDrop(points: 6, fromScore: 45, line: 40))
        // Staying below is the same episode; going back above and crossing again is a new one.
        #expect(run.feed(T.record(at: "2026-11-03T12:00:00Z", score: 38)).isEmpty)
        #expect(run.feed(T.record(at: "2026-11-04T12:00:00Z", score: 41)).isEmpty)
        #expect(run.feed(T.record(at: "2026-11-06T12:00:00Z", score: 37)).count == 1)

        // An account first seen below the line has not crossed it.
        var first = Run(try T.engine(T.rules(rule)))
        #expect(first.feed(T.record("new", at: "2026-11-01T12:00:00Z", score: 30)).isEmpty)
    }

    @Test func billingRetryFailedFromTrigger() throws {
        let rule = """
              - name: billing
                type: billing_retry_failed
                when: {trigger: [billing_retry_failed]}
                severity: high
                cooldown: 0
            """
        var run = Run(try T.engine(T.rules(rule)))
        let t = T.trigger(.billingRetryFailed, ref: "inv-1", at: "2026-11-02T12:00:00Z")
        let alerts = run.feed(T.record(at: "2026-11-02T12:00:00Z", score: 85, triggers: [t]))
        #expect(alerts.map(\.type) == [.billingRetryFailed])
        #expect(alerts.first?.trigger?.ref == "inv-1")
        // A payment_failed trigger is not what this rule listens to.
        let other = T.trigger(.paymentFailed, ref: "inv-2", at: "2026-11-02T13:00:00Z")
        #expect(run.feed(T.record(at: "2026-11-02T13:00:00Z", score: 85, triggers: [other])).isEmpty)
    }

    static let signalRules = """
          - name: seats
            type: expansion_signal
            when: {signal: {code: seats_growth, at_least: 0.2}}
            severity: low
          - name: upsell
            type: upsell_opportunity
            when: {signal: {code: usage_growth, at_least: 0.5, min_score: 70}}
            severity: low
        """

    @Test func expansionSignalFromSeatGrowth() throws {
        var run = Run(try T.engine(T.rules(Self.signalRules)))
        #expect(
            run.feed(T.record(at: "2026-11-02T12:00:00Z", score: 80, positive: [T.signal(SignalCode.seatsGrowth, 0.1)]))
                .isEmpty)
        let alerts = run.feed(
            T.record(at: "2026-11-03T12:00:00Z", score: 80, positive: [T.signal(SignalCode.seatsGrowth, 0.25)]))
        #expect(alerts.map(\.type) == [.expansionSignal])
        #expect(alerts.first?.severity == .low)
    }

    @Test func upsellOpportunityFromUsageGrowthWhenHealthy() throws {
        var run = Run(try T.engine(T.rules(Self.signalRules)))
        // Usage up, but the account is not healthy enough: no upsell.
        #expect(
            run.feed(T.record(at: "2026-11-02T12:00:00Z", score: 65, positive: [T.signal(SignalCode.usageGrowth, 0.9)]))
                .isEmpty)
        let alerts = run.feed(
            T.record(at: "2026-11-03T12:00:00Z", score: 78, positive: [T.signal(SignalCode.usageGrowth, 0.6)]))
        #expect(alerts.map(\.type) == [.upsellOpportunity])
    }

    @Test func recoveredWhenAnEpisodeEndsOnlyWhereARouteAsks() throws {
        let rules =
            T.atRiskRule + """

                  - name: back
                    type: recovered
                    when: {episode_ended: at-risk}
                    severity: low
                """
        let routes = """
              - {destination: team, continue: true}
              - {destination: leads, match: {types: [recovered]}}
            """
        var run = Run(try T.engine(T.rules(rules, destinations: "  team: {}\n  leads: {}", routes: routes)))
        #expect(run.feed(T.record(at: "2026-11-02T12:00:00Z", score: 60)).map(\.destination) == ["team"])
        #expect(run.feed(T.record(at: "2026-11-03T12:00:00Z", score: 66)).isEmpty)
        let alerts = run.feed(T.record(at: "2026-11-04T12:00:00Z", score: 75))
        // The catch-all route does not take recovered; the route that lists it does.
        #expect(alerts.map(\.type) == [.recovered])
        #expect(alerts.map(\.destination) == ["leads"])
        #expect(alerts.first?.severity == .low)

        // An episode that never alerted (here: muted by a suppression) ends without a recovered.
        let quiet = T.rules(
            rules, destinations: "  team: {}\n  leads: {}", routes: routes,
            extra: "suppress:\n  - {from: 2026-11-01T00:00:00Z, to: 2026-11-05T00:00:00Z}")
        var muted = Run(try T.engine(quiet))
        #expect(muted.feed(T.record(at: "2026-11-02T12:00:00Z", score: 60)).isEmpty)
        #expect(muted.feed(T.record(at: "2026-11-06T12:00:00Z", score: 80)).isEmpty)
    }

    @Test func recoveryHysteresisKeepsTheEpisodeOpenBelowTheRecoverScore() throws {
        let rules = """
              - name: at-risk
                type: customer_at_risk
                when: {zone_in: [at_risk, critical], recover_at_score: 75}
                severity: high
              - name: back
                type: recovered
                when: {episode_ended: at-risk}
                severity: low
            """
        var run = Run(try T.engine(T.rules(rules)))
        #expect(run.feed(T.record(at: "2026-11-02T12:00:00Z", score: 60)).count == 1)
        // Healthy again (72) but under 75: still the same episode, no recovered, and no new alert
        // when it dips back to at_risk.
        #expect(run.feed(T.record(at: "2026-11-03T12:00:00Z", score: 72)).isEmpty)
        #expect(run.feed(T.record(at: "2026-11-04T12:00:00Z", score: 68)).isEmpty)
        #expect(run.feed(T.record(at: "2026-11-05T12:00:00Z", score: 76)).map(\.type) == [.recovered])
    }
}
