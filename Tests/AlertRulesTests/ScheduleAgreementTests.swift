import AlertRules
import Contracts
import Testing

/// One quiet-hours and digest path: over a week of alerts, what `rules test` (and so the backtest
/// and the rules bench, which run the same `PartitionEvaluator`) says is sent equals what the fleet
/// sends: the evaluator on `RulesConfig.leavingTimeToTheDispatcher()`, then the dispatcher's
/// `DestinationSchedule` admitting each alert when it arrives and releasing what is due on a
/// one-minute wall-clock timer, as `DispatcherProcessor` does.
@Suite struct ScheduleAgreementTests {
    typealias T = TestSupport

    /// One message a destination sees: when, what, and for a digest the alerts it lists.
    struct Message: Hashable, Comparable, CustomStringConvertible {
        var at: Timestamp
        var destination: String
        var alertId: String
        var type: AlertType
        var digestItems: [String]

        static func < (a: Message, b: Message) -> Bool {
            (a.at, a.destination, a.alertId) < (b.at, b.destination, b.alertId)
        }

        var description: String {
            "\(at.rfc3339) \(destination) \(type.rawValue) \(alertId)"
                + (digestItems.isEmpty ? "" : " [\(digestItems.joined(separator: ","))]")
        }
    }

    static let rules = """
        version: 1
        rules:
          - name: at-risk
            type: customer_at_risk
            when: {zone_in: [at_risk, critical]}
            severity: high
            severity_by_zone: {critical: critical}
            repeat_interval: 1d
          - name: drop
            type: health_score_drop
            when: {drop: {points: 15, within: 3d}}
            severity: medium
          - name: seats
            type: expansion_signal
            when: {signal: {code: seats_growth, at_least: 0.2}}
            severity: low
          - name: billing
            type: billing_retry_failed
            when: {trigger: [billing_retry_failed]}
            severity: high
          - name: back
            type: recovered
            when: {episode_ended: at-risk}
            severity: low
        routes:
          - {destination: pager, match: {types: [customer_at_risk], min_severity: critical}, continue: true}
          - {destination: team, match: {types: [customer_at_risk, health_score_drop, recovered]}}
          - {destination: growth, match: {types: [expansion_signal]}}
          - {destination: billing, match: {types: [billing_retry_failed]}}
        destinations:
          team:
            quiet_hours:
              timezone: America/New_York
              windows: [{days: every_day, from: "22:00", to: "07:00"}]
            digest: {every: day, at: "09:00", timezone: America/New_York, max_severity: medium}
          growth:
            digest: {every: week, weekday: fri, at: "16:00", timezone: Europe/Berlin, max_severity: low}
          billing:
            quiet_hours:
              timezone: Europe/Berlin
              windows: [{days: weekends, from: "00:00", to: "24:00"}]
          pager: {}
        """

    /// Six accounts, a record every three hours from Monday 2026-11-16 to the next Monday: scores
    /// that wander through the zones, seat growth now and then, failed billing retries.
    static func week() -> [ScoreRecord] {
        var records: [ScoreRecord] = []
        let start = T.time("2026-11-16T00:00:00Z").millisecondsSinceEpoch
        let accounts = ["acme", "bolt", "cord", "dune", "echo", "fern"]
        for step in 0..<(7 * 8) {
            for (k, account) in accounts.enumerated() {
                let at = Timestamp(millisecondsSinceEpoch: start + Int64(step) * 3 * 3_600_000 + Int64(k) * 60_000)
                let phase = (step + 5 * k) % 24
                let score = [
                    88, 84, 80, 72, 66, 58, 50, 44, 38, 35, 42, 55, 63, 71, 78, 82, 86, 90, 74, 61, 69, 77, 85, 89,
                ][
                    phase]
                let positive = (step + k) % 9 == 0 ? [T.signal("seats_growth", 0.25 + Double(k) / 10)] : []
                let triggers =
                    (step * 7 + k) % 17 == 0
                    ? [
                        T.trigger(
                            .billingRetryFailed, ref: "inv-\(account)-\(step)", at: at.rfc3339, event: "e-\(step)-\(k)")
                    ]
                    : []
                records.append(
                    T.record(
                        account, at: at.rfc3339, score: score, tier: k % 2 == 0 ? .enterprise : .smb,
                        positive: positive, triggers: triggers))
            }
        }
        return records
    }

    static func message(_ alert: AlertRecord, at: Timestamp) -> Message {
        Message(
            at: at, destination: alert.destination, alertId: alert.alertId, type: alert.type,
            digestItems: (alert.digestItems ?? []).map(\.alertId).sorted())
    }

    /// What `fleet-admin rules test` reports for the week.
    static func rulesTest(_ config: RulesConfig, records: [ScoreRecord], end: Timestamp) -> [Message] {
        let fixture = RulesTestFixture(
            name: "a week", file: "week.yaml", steps: records.map { .record($0) } + [.advance(end)], expected: [])
        let produced = RulesTestRunner.run(config: config, fixture: fixture).produced
        return produced.map { message($0, at: $0.notBefore ?? $0.raisedAt) }.sorted()
    }

    /// What the fleet sends: the evaluator's alerts as they come, the dispatcher's schedule
    /// admitting each on arrival and a timer releasing what is due, once a minute.
    static func fleet(_ config: RulesConfig, records: [ScoreRecord], end: Timestamp) -> [Message] {
        let evaluator = RulesEngine(config: config.leavingTimeToTheDispatcher())
        let schedule = DestinationSchedule(policies: config.destinations)
        var accounts: [String: AccountAlertState] = [:]
        var destinations: [String: DestinationScheduleState] = [:]
        var sent: [Message] = []
        var minute = records.first!.validAt.millisecondsSinceEpoch / 60_000
        func timer(through t: Int64) {
            while minute * 60_000 <= t {
                let now = Timestamp(millisecondsSinceEpoch: minute * 60_000)
                let release = schedule.takeDue(now: now, states: &destinations)
                for alert in release.released + release.digests { sent.append(message(alert, at: now)) }
                minute += 1
            }
        }
        for record in records {
            timer(through: record.validAt.millisecondsSinceEpoch)
            for alert in evaluator.evaluate(record, state: &accounts[record.accountId, default: .init()]) {
                let decision = schedule.admit(
                    alert, now: record.validAt, state: &destinations[alert.destination, default: .init()])
                if decision == .deliverNow { sent.append(message(alert, at: record.validAt)) }
            }
        }
        timer(through: end.millisecondsSinceEpoch)
        return sent.sorted()
    }

    @Test func rulesTestAndBacktestSendWhatTheFleetSendsOverAWeek() throws {
        let config = try RulesConfig.parse(yaml: Self.rules, file: "agreement.yaml")
        let records = Self.week()
        let end = T.time("2026-11-24T00:00:00Z")
        let fleet = Self.fleet(config, records: records, end: end)
        let tested = Self.rulesTest(config, records: records, end: end)
        // The week exercises every path: sent at once, held by quiet hours, daily and weekly digests.
        #expect(fleet.contains { $0.type == .digest && $0.destination == "team" })
        #expect(fleet.contains { $0.type == .digest && $0.destination == "growth" })
        #expect(fleet.contains { $0.destination == "pager" })
        let held = fleet.filter { $0.destination == "billing" && $0.at.epochDay != records.first!.validAt.epochDay }
        #expect(!held.isEmpty)
        #expect(fleet.count > 20, "a week of six wandering accounts raises more than \(fleet.count) messages")
        let onlyFleet = fleet.filter { !tested.contains($0) }
        let onlyTested = tested.filter { !fleet.contains($0) }
        #expect(
            onlyFleet.isEmpty && onlyTested.isEmpty,
            """
            the fleet and rules test disagree:
            only the fleet sends:
            \(onlyFleet.map { "  \($0)" }.joined(separator: "\n"))
            only rules test sends:
            \(onlyTested.map { "  \($0)" }.joined(separator: "\n"))
            """)
        #expect(fleet == tested)
    }
}
