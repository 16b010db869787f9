import AlertRules
import Contracts
import Testing

/// Episodes and repeats, cooldown, trigger dedup, inhibition and suppression.
@Suite struct NoiseControlTests {
    typealias T = TestSupport

    @Test func oneAlertPerEpisodeRepeatOnlyWhenWorseOrAfterTheInterval() throws {
        let rule = """
              - name: at-risk
                type: customer_at_risk
                when: {zone_in: [at_risk, critical]}
                severity: high
                repeat_when_worse_by: 10
                repeat_interval: 7d
                cooldown: 0
            """
        var run = Run(try T.engine(T.rules(rule)))
        let first = run.feed(T.record(at: "2026-11-02T12:00:00Z", score: 65))
        #expect(first.count == 1)
        // Wobbling inside the episode: silent.
        #expect(run.feed(T.record(at: "2026-11-02T18:00:00Z", score: 60)).isEmpty)
        #expect(run.feed(T.record(at: "2026-11-03T12:00:00Z", score: 63)).isEmpty)
        // 10 points worse than the last alert (65 -> 55): a repeat, with its own id.
        let worse = run.feed(T.record(at: "2026-11-03T18:00:00Z", score: 55))
        #expect(worse.count == 1)
        #expect(worse.first?.alertId != first.first?.alertId)
        #expect(run.feed(T.record(at: "2026-11-05T12:00:00Z", score: 52)).isEmpty)
        // A week after the last alert, still at risk: a reminder.
        #expect(run.feed(T.record(at: "2026-11-10T18:00:00Z", score: 54)).count == 1)
        #expect(run.feed(T.record(at: "2026-11-11T18:00:00Z", score: 54)).isEmpty)
        // Leaving the zone closes the episode; entering again opens a new one.
        #expect(run.feed(T.record(at: "2026-11-12T12:00:00Z", score: 75)).isEmpty)
        let again = run.feed(T.record(at: "2026-11-13T12:00:00Z", score: 66))
        #expect(again.count == 1)
        #expect(again.first?.alertId != first.first?.alertId)
    }

    @Test func cooldownPerAccountAndTypeCoversNewEpisodesUnlessMoreSevere() throws {
        let rule = """
              - name: at-risk
                type: customer_at_risk
                when: {zone_in: [at_risk, critical]}
                severity: high
                severity_by_zone: {critical: critical}
                cooldown: 12h
                repeat_when_worse_by: 10
            """
        let engine = try T.engine(T.rules(rule))
        var run = Run(engine)
        #expect(run.feed(T.record(at: "2026-11-02T08:00:00Z", score: 65)).count == 1)
        #expect(run.feed(T.record(at: "2026-11-02T09:00:00Z", score: 75)).isEmpty)
        // Flapping back 1 h later: a new episode inside the cooldown is covered by the 08:00 alert...
        #expect(run.feed(T.record(at: "2026-11-02T10:00:00Z", score: 64)).isEmpty)
        #expect(run.feed(T.record(at: "2026-11-02T15:00:00Z", score: 63)).isEmpty)
        // ...and stays quiet after the cooldown while it does not worsen...
        #expect(run.feed(T.record(at: "2026-11-02T21:00:00Z", score: 62)).isEmpty)
        // ...but speaks when it worsens by the margin (64 -> 54) once the cooldown is over.
        #expect(run.feed(T.record(at: "2026-11-02T22:00:00Z", score: 54)).count == 1)
        // Within the cooldown of that alert, worsening by the margin again at the same severity is held back,
        #expect(run.feed(T.record(at: "2026-11-02T23:00:00Z", score: 44)).isEmpty)
        // while a more severe one goes through the cooldown.
        #expect(run.feed(T.record(at: "2026-11-03T00:00:00Z", score: 35)).map(\.severity) == [.critical])
        // Another account is not affected by this one's cooldown.
        var other = Run(engine)
        #expect(other.feed(T.record("b", at: "2026-11-02T10:00:00Z", score: 60)).count == 1)
    }

    @Test func aHoldTimeKeepsOneDayBlipsQuiet() throws {
        let rule = """
              - name: upsell
                type: upsell_opportunity
                when: {signal: {code: usage_growth, at_least: 0.4}}
                severity: low
                for: 2d
            """
        var run = Run(try T.engine(T.rules(rule)))
        // A one-day spike: the episode opens and closes without a word.
        #expect(
            run.feed(T.record(at: "2026-11-02T00:00:00Z", score: 90, positive: [T.signal("usage_growth", 0.8)])).isEmpty
        )
        #expect(run.feed(T.record(at: "2026-11-03T00:00:00Z", score: 90)).isEmpty)
        // Sustained growth: alerts on the first record two days after it started.
        #expect(
            run.feed(T.record(at: "2026-11-05T00:00:00Z", score: 90, positive: [T.signal("usage_growth", 0.45)]))
                .isEmpty)
        #expect(
            run.feed(T.record(at: "2026-11-06T00:00:00Z", score: 90, positive: [T.signal("usage_growth", 0.47)]))
                .isEmpty)
        #expect(
            run.feed(T.record(at: "2026-11-07T00:00:00Z", score: 90, positive: [T.signal("usage_growth", 0.5)])).map(
                \.type) == [.upsellOpportunity])
    }

    @Test func identicalTriggersAreDeduplicatedByRef() throws {
        let rule = """
              - name: billing
                type: billing_retry_failed
                when: {trigger: [billing_retry_failed]}
                severity: high
                cooldown: 0
            """
        var run = Run(try T.engine(T.rules(rule, defaults: "  dedup_window: 30d")))
        let at = "2026-11-02T12:00:00Z"
        let a = run.feed(
            T.record(at: at, score: 80, triggers: [T.trigger(.billingRetryFailed, ref: "inv-1", at: at, event: "e1")]))
        // The same invoice in another event, and twice in one record: no new alert.
        let b = run.feed(
            T.record(
                at: "2026-11-03T12:00:00Z", score: 80,
                triggers: [
                    T.trigger(.billingRetryFailed, ref: "inv-1", at: at, event: "e2"),
                    T.trigger(.billingRetryFailed, ref: "inv-2", at: at, event: "e3"),
                    T.trigger(.billingRetryFailed, ref: "inv-2", at: at, event: "e4"),
                ]))
        #expect(a.count == 1)
        #expect(b.map { $0.trigger?.ref } == ["inv-2"])
        // Without a ref, the event id is the identity.
        let c = run.feed(
            T.record(
                at: "2026-11-04T12:00:00Z", score: 80,
                triggers: [T.trigger(.billingRetryFailed, ref: nil, at: at, event: "e9")]))
        let d = run.feed(
            T.record(
                at: "2026-11-04T13:00:00Z", score: 80,
                triggers: [T.trigger(.billingRetryFailed, ref: nil, at: at, event: "e9")]))
        #expect(c.count == 1)
        #expect(d.isEmpty)
        // After the dedup window the ref may alert again.
        let e = run.feed(
            T.record(
                at: "2026-12-10T12:00:00Z", score: 80,
                triggers: [T.trigger(.billingRetryFailed, ref: "inv-1", at: at, event: "e10")]))
        #expect(e.count == 1)
    }

    static let inhibitRules =
        T.atRiskRule + """

              - name: drop
                type: health_score_drop
                when: {drop: {points: 10, within: 7d}}
                severity: medium
                cooldown: 0
              - name: upsell
                type: upsell_opportunity
                when: {signal: {code: usage_growth, at_least: 0.5}}
                severity: low
            """

    static let inhibit = """
        inhibit:
          - name: cancellation-mutes-usage
            when: cancellation_scheduled
            mute: {types: [health_score_drop, expansion_signal, upsell_opportunity]}
          - name: critical-mutes-medium
            when: open_critical_alert
            mute: {max_severity: medium}
        """

    @Test func scheduledCancellationMutesUsageAlerts() throws {
        var run = Run(try T.engine(T.rules(Self.inhibitRules, extra: Self.inhibit)))
        #expect(run.feed(T.record(at: "2026-11-02T12:00:00Z", score: 90, cancellation: true)).isEmpty)
        #expect(
            run.feed(
                T.record(
                    at: "2026-11-03T12:00:00Z", score: 95, positive: [T.signal("usage_growth", 0.8)], cancellation: true
                )
            ).isEmpty)
        // Usage falls 20 points and the account goes at risk: only the risk alert, no usage drop alert.
        let alerts = run.feed(T.record(at: "2026-11-04T12:00:00Z", score: 65, cancellation: true))
        #expect(alerts.map(\.type) == [.customerAtRisk])

        // The same story without the cancellation raises the drop too.
        var control = Run(try T.engine(T.rules(Self.inhibitRules, extra: Self.inhibit)))
        #expect(control.feed(T.record("ctl", at: "2026-11-02T12:00:00Z", score: 90)).isEmpty)
        #expect(
            control.feed(
                T.record("ctl", at: "2026-11-03T12:00:00Z", score: 95, positive: [T.signal("usage_growth", 0.8)])
            ).map(\.type) == [.upsellOpportunity])
        #expect(
            Set(control.feed(T.record("ctl", at: "2026-11-04T12:00:00Z", score: 65)).map(\.type)) == [
                .customerAtRisk, .healthScoreDrop,
            ])
    }

    @Test func anOpenCriticalAlertMutesAMediumOne() throws {
        var run = Run(try T.engine(T.rules(Self.inhibitRules, extra: Self.inhibit)))
        #expect(run.feed(T.record(at: "2026-11-02T12:00:00Z", score: 50)).map(\.type) == [.customerAtRisk])
        // Critical (risk) and a 15-point drop (medium) in the same record: only the critical one.
        let both = run.feed(T.record(at: "2026-11-03T12:00:00Z", score: 35))
        #expect(both.map(\.severity) == [.critical])
        // While the critical episode is open, the (still open) medium drop stays muted.
        #expect(run.feed(T.record(at: "2026-11-04T12:00:00Z", score: 30)).isEmpty)
        // Without the inhibition, the medium drop would have been raised.
        var control = Run(try T.engine(T.rules(Self.inhibitRules)))
        #expect(control.feed(T.record(at: "2026-11-02T12:00:00Z", score: 50)).count == 1)
        #expect(
            Set(control.feed(T.record(at: "2026-11-03T12:00:00Z", score: 35)).map(\.severity)) == [.critical, .medium])
    }

    @Test func suppressionWindowsGlobalAndPerAccount() throws {
        let extra = """
            suppress:
              - {name: holidays, from: 2026-12-24T00:00:00Z, to: 2026-12-27T00:00:00Z}
              - {name: acme-migration, from: 2026-11-10T00:00:00Z, to: 2026-11-11T00:00:00Z, accounts: [acme]}
            """
        let engine = try T.engine(T.rules(T.atRiskRule, extra: extra))
        var acme = Run(engine)
        var globex = Run(engine)
        #expect(acme.feed(T.record("acme", at: "2026-11-10T12:00:00Z", score: 60)).isEmpty)
        #expect(globex.feed(T.record("globex", at: "2026-11-10T12:00:00Z", score: 60)).count == 1)
        // After the window, the still-open episode alerts once.
        #expect(acme.feed(T.record("acme", at: "2026-11-11T12:00:00Z", score: 60)).count == 1)
        #expect(acme.feed(T.record("acme", at: "2026-11-11T13:00:00Z", score: 60)).isEmpty)

        var hol = Run(engine)
        #expect(hol.feed(T.record("hol", at: "2026-12-25T12:00:00Z", score: 60)).isEmpty)
        #expect(hol.feed(T.record("hol", at: "2026-12-26T23:59:00Z", score: 58)).isEmpty)
        #expect(hol.feed(T.record("hol", at: "2026-12-27T00:00:00Z", score: 58)).count == 1)
    }
}
