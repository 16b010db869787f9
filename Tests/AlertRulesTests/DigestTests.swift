import AlertRules
import Contracts
import Testing

/// Digests: non-urgent alerts of many accounts as one message per destination and day (or week).
@Suite struct DigestTests {
    typealias T = TestSupport

    static let rules =
        T.atRiskRule + """

              - name: seats
                type: expansion_signal
                when: {signal: {code: seats_growth, at_least: 0.2}}
                severity: low
              - name: drop
                type: health_score_drop
                when: {drop: {points: 10, within: 7d}}
                severity: medium
            """

    static func destinations(_ digest: String) -> String {
        """
          team:
            digest: \(digest)
        """
    }

    static let daily = "{every: day, at: \"09:00\", timezone: America/New_York, max_severity: medium}"

    @Test func nonUrgentAlertsOfManyAccountsBecomeOneDailyDigest() throws {
        let engine = try T.engine(
            T.rules(Self.rules, destinations: Self.destinations(Self.daily), routes: "  - {destination: team}"))
        var p = PartitionEvaluator(engine: engine)
        // Wednesday: two expansions (low) and a drop (medium) for three accounts; one at-risk (high).
        #expect(
            p.process(T.record("a", at: "2026-11-18T15:00:00Z", score: 80, positive: [T.signal("seats_growth", 0.3)]))
                .isEmpty)
        #expect(
            p.process(
                T.record(
                    "b", at: "2026-11-18T16:00:00Z", score: 85, tier: .smb, positive: [T.signal("seats_growth", 0.5)])
            ).isEmpty)
        #expect(p.process(T.record("c", at: "2026-11-18T17:00:00Z", score: 90)).isEmpty)
        #expect(p.process(T.record("c", at: "2026-11-18T18:00:00Z", score: 78)).isEmpty)
        // High severity is above the digest's max: sent at once.
        #expect(p.process(T.record("d", at: "2026-11-18T19:00:00Z", score: 60)).map(\.type) == [.customerAtRisk])
        #expect(p.nextDue == T.time("2026-11-19T14:00:00Z"))
        #expect(p.advance(to: T.time("2026-11-19T13:59:00Z")).isEmpty)
        // Thursday 09:00 EST = 14:00Z: one digest listing the three accounts, most severe first.
        let out = p.advance(to: T.time("2026-11-19T14:00:00Z"))
        #expect(out.count == 1)
        let digest = try #require(out.first)
        #expect(digest.type == .digest)
        #expect(digest.destination == "team")
        #expect(digest.notBefore == T.time("2026-11-19T14:00:00Z"))
        #expect(digest.digestItems?.map(\.accountId) == ["c", "a", "b"])
        #expect(digest.digestItems?.first?.type == .healthScoreDrop)
        #expect(digest.digestItems?.first?.drop?.summary == "-12 in 7 days")
        #expect(digest.severity == .medium)
        #expect(digest.priority.rawValue == "P3")  // the most urgent item: medium x enterprise
        #expect(digest.digestTitle == "Daily digest for 2026-11-19")
        #expect(p.nextDue == nil)
        #expect(p.advance(to: T.time("2026-11-20T14:00:00Z")).isEmpty)
    }

    @Test func weeklyDigestAtALocalTimeOnItsWeekday() {
        let weekly = DigestSchedule(
            period: .week, atMinute: 9 * 60, weekday: 0, timeZone: "Europe/Berlin", maxSeverity: .low)!
        // Wednesday 2026-11-18 -> Monday 2026-11-23 09:00 CET = 08:00Z.
        #expect(weekly.nextDue(after: T.time("2026-11-18T12:00:00Z")) == T.time("2026-11-23T08:00:00Z"))
        // Monday at 09:00 exactly: the next week.
        #expect(weekly.nextDue(after: T.time("2026-11-23T08:00:00Z")) == T.time("2026-11-30T08:00:00Z"))
        // Across the October change: Monday 2026-10-26 09:00 CET = 08:00Z; the Monday before, CEST = 07:00Z.
        #expect(weekly.nextDue(after: T.time("2026-10-21T12:00:00Z")) == T.time("2026-10-26T08:00:00Z"))
        #expect(weekly.nextDue(after: T.time("2026-10-14T12:00:00Z")) == T.time("2026-10-19T07:00:00Z"))
        let daily = DigestSchedule(period: .day, atMinute: 9 * 60, timeZone: "America/New_York", maxSeverity: .low)!
        // 08:00 local: today at 09:00; 10:00 local: tomorrow.
        #expect(daily.nextDue(after: T.time("2026-11-18T13:00:00Z")) == T.time("2026-11-18T14:00:00Z"))
        #expect(daily.nextDue(after: T.time("2026-11-18T15:00:00Z")) == T.time("2026-11-19T14:00:00Z"))
    }

    @Test func theDigestIdIsDeterministic() throws {
        func run() throws -> [AlertRecord] {
            let engine = try T.engine(
                T.rules(Self.rules, destinations: Self.destinations(Self.daily), routes: "  - {destination: team}"))
            var p = PartitionEvaluator(engine: engine)
            _ = p.process(
                T.record("a", at: "2026-11-18T15:00:00Z", score: 80, positive: [T.signal("seats_growth", 0.3)]))
            _ = p.process(
                T.record("b", at: "2026-11-18T16:00:00Z", score: 80, positive: [T.signal("seats_growth", 0.3)]))
            return p.advance(to: T.time("2026-11-20T00:00:00Z"))
        }
        let first = try run()
        let second = try run()
        #expect(first.count == 1)
        #expect(first.map(\.alertId) == second.map(\.alertId))
        #expect(first == second)
    }
}

/// The per-partition driver: restore, changed accounts, and release order.
@Suite struct PartitionEvaluatorTests {
    typealias T = TestSupport

    @Test func restoredStatesReleaseTheirHeldAlertsAndChangesAreTracked() throws {
        let destinations = """
              team:
                quiet_hours:
                  timezone: Europe/Berlin
                  windows: [{days: every_day, from: "20:00", to: "07:30"}]
            """
        let engine = try T.engine(T.rules(T.atRiskRule, destinations: destinations, routes: "  - {destination: team}"))
        var first = PartitionEvaluator(engine: engine)
        // 22:00 Berlin: both held until 07:30 (06:30Z), by the destination's schedule.
        #expect(first.process(T.record("b", at: "2026-11-18T21:00:00Z", score: 60)).isEmpty)
        #expect(first.process(T.record("a", at: "2026-11-18T21:05:00Z", score: 61)).isEmpty)
        #expect(first.takeChangedAccounts() == ["a", "b"])
        #expect(first.takeChangedAccounts().isEmpty)

        // A new evaluator and dispatcher take over from their changelogs.
        var second = PartitionEvaluator(engine: engine)
        for (account, state) in first.states {
            second.restore(account: account, state: try AccountAlertState(decoding: state.encoded()))
        }
        for (destination, state) in first.destinationStates {
            second.restore(destination: destination, state: try DestinationScheduleState(decoding: state.encoded()))
        }
        #expect(second.nextDue == T.time("2026-11-19T06:30:00Z"))
        let released = second.advance(to: T.time("2026-11-19T06:30:00Z"))
        #expect(released.map(\.accountId).sorted() == ["a", "b"])
        #expect(released.allSatisfy { $0.notBefore == T.time("2026-11-19T06:30:00Z") })
        #expect(second.takeChangedAccounts().isEmpty, "releasing holds changes no account's state")
        #expect(second.advance(to: T.time("2026-11-20T00:00:00Z")).isEmpty)
        // The same records again (a redelivery after the restore) raise nothing new.
        #expect(second.process(T.record("b", at: "2026-11-18T21:00:00Z", score: 60)).isEmpty)
        #expect(second.waiting == 0)
    }
}
