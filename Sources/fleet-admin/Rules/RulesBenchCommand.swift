import AlertRules
import ArgumentParser
import Contracts
import Foundation

/// `fleet-admin bench rules`: score records per second through the rules engine on one core.
///
/// Generates (before timing) score records for `accounts` accounts in rounds of one record per
/// account an hour, mostly ordinary accounts wobbling around their normal plus a few percent with
/// stories (decline to at risk and critical, failed billing retries, seat growth); then times a
/// `PartitionEvaluator` over all of them with a rules file of the example's seven rules and
/// `routes` routes, advancing time (quiet hours, digests) once per round.
/// Run it pinned: `taskset -c 0 .build/release/fleet-admin bench rules`.
struct RulesBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "Score records/s of the rules engine (build with -c release; pin with taskset -c 0).")

    @Option(help: "Score records to evaluate.")
    var records = 1_000_000

    @Option(help: "Distinct accounts.")
    var accounts = 10_000

    @Option(help: "Routes in the generated rules file (at least 4).")
    var routes = 20

    @Option(help: "Percent of accounts with a story (decline, billing failures, expansion).")
    var storyPercent = 2

    @Option(help: "Timed runs; the best and the median are printed.")
    var runs = 3

    func run() throws {
        guard routes >= 4, accounts > 0, records >= accounts, runs > 0 else {
            throw ValidationError("need routes >= 4, records >= accounts > 0, runs > 0")
        }
        let config = try RulesConfig.parse(yaml: Self.rulesYAML(routes: routes), file: "bench-rules.yaml")
        let engine = RulesEngine(config: config)
        let genStart = ContinuousClock.now
        let (input, roundEnds) = Self.generate(records: records, accounts: accounts, storyPercent: storyPercent)
        print(
            "generated \(input.count) score records for \(accounts) accounts in \(ContinuousClock.now - genStart); \(config.rules.count) rules, \(config.routes.count) routes"
        )

        var rates: [Double] = []
        var alertsRaised = 0
        var stateBytes = 0
        var stateCount = 0
        for run in 1...runs {
            var evaluator = PartitionEvaluator(engine: engine)
            var alerts = 0
            var next = 0
            let start = ContinuousClock.now
            for (end, time) in roundEnds {
                while next < end {
                    alerts &+= evaluator.process(input[next]).count
                    next += 1
                }
                alerts &+= evaluator.advance(to: time).count
            }
            let elapsed = ContinuousClock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let rate = Double(input.count) / seconds
            rates.append(rate)
            alertsRaised = alerts
            print(
                String(
                    format: "run %d: %d records in %.3f s = %.0f records/s, %d alerts", run, input.count, seconds, rate,
                    alerts))
            if run == runs {
                for state in evaluator.states.values {
                    stateBytes += try state.encoded().count
                    stateCount += 1
                }
            }
        }
        let sorted = rates.sorted()
        print(
            String(
                format:
                    "rules engine: best %.0f records/s, median %.0f records/s (%d records, %d accounts, %d routes, %d alerts per run)",
                sorted.last!, sorted[sorted.count / 2], input.count, accounts, routes, alertsRaised))
        print(
            String(
                format: "account state: %d accounts, %.1f bytes per account encoded (changelog value)",
                stateCount, Double(stateBytes) / Double(max(1, stateCount))))
    }

    /// Deterministic pseudo-random numbers (SplitMix64), so every run evaluates the same records.
    struct SplitMix64 {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    /// Records in time order, and the index ending each hourly round with that round's time.
    static func generate(records: Int, accounts: Int, storyPercent: Int) -> ([ScoreRecord], [(Int, Timestamp)]) {
        var rng = SplitMix64(state: 42)
        let tiers: [Tier] = [.enterprise, .midMarket, .smb, .smb]
        let profiles = (0..<accounts).map { i in
            AccountProfile(
                name: "Account \(i)", tier: tiers[i % tiers.count], mrr: Double(200 + (i * 37) % 20_000),
                owner: "U\(100_000 + i % 300)", url: "https://crm.example.com/a/\(i)")
        }
        let ids = (0..<accounts).map { "acct-\($0)" }
        var baseline = (0..<accounts).map { _ in 75 + rng.below(20) }
        var last = [Int?](repeating: nil, count: accounts)
        let story = (0..<accounts).map { _ in rng.below(100) < storyPercent }
        let down = [
            Signal(
                code: SignalCode.loginsDown, family: .engagement, text: "Logins down 62% vs 28-day baseline",
                impact: -12, value: -0.62)
        ]
        let seats = [
            Signal(code: SignalCode.seatsGrowth, family: .commercial, text: "Seats up 30%", impact: 3, value: 0.3)
        ]
        let components = FamilyScores(productUsage: 80, engagement: 80, support: 80, commercial: 80)
        let start = Timestamp(year: 2026, month: 11, day: 16)
        var out: [ScoreRecord] = []
        out.reserveCapacity(records)
        var rounds: [(Int, Timestamp)] = []
        var round: Int64 = 0
        while out.count < records {
            let t0 = start.adding(seconds: round * 3600)
            for a in 0..<accounts where out.count < records {
                var score = baseline[a] + rng.below(7) - 3
                var signals: [Signal] = []
                var positive: [Signal] = []
                var triggers: [Trigger] = []
                if story[a] {
                    switch a % 3 {
                    case 0:  // decline, 1 point an hour, to critical
                        baseline[a] = max(15, baseline[a] - 1)
                        score = baseline[a]
                        if score < 65 { signals = down }
                    case 1:  // a failed billing retry now and then, mostly the same invoice again
                        if rng.below(10) == 0 {
                            triggers = [
                                Trigger(
                                    type: .billingRetryFailed, eventId: "e-\(a)-\(round)", occurredAt: t0,
                                    ref: "inv-\(a)-\(round / 24)")
                            ]
                        }
                    default:  // seats growing
                        positive = seats
                    }
                }
                score = min(100, max(0, score))
                let zone: Zone = score >= 70 ? .healthy : score >= 40 ? .atRisk : .critical
                let previous = last[a]
                out.append(
                    ScoreRecord(
                        accountId: ids[a], validAt: t0.adding(milliseconds: Int64(a)), score: score,
                        previousScore: previous,
                        delta: previous.map { score - $0 } ?? 0, zone: zone, previousZone: nil, components: components,
                        signals: signals, positiveSignals: positive, profile: profiles[a], triggers: triggers,
                        eventIds: [], reasons: [.scoreStep], cancellationScheduled: false))
                last[a] = score
            }
            round += 1
            rounds.append((out.count, start.adding(seconds: round * 3600)))
        }
        return (out, rounds)
    }

    /// The example team's seven rules, four destinations (quiet hours, a digest) and `routes` routes:
    /// the four real ones last, after narrower per-tier, per-owner and per-MRR routes that continue.
    static func rulesYAML(routes: Int) -> String {
        var routeLines: [String] = []
        let types = [
            "customer_at_risk", "health_score_drop", "billing_retry_failed", "expansion_signal", "upsell_opportunity",
        ]
        let tiers = ["enterprise", "mid_market", "smb"]
        for i in 0..<(routes - 4) {
            routeLines.append(
                "  - {name: extra-\(i), destination: customer-health, continue: true, match: {types: [\(types[i % types.count])], tiers: [\(tiers[i % 3])], min_mrr: \(50_000 + i), owners: [U\(i)]}}"
            )
        }
        routeLines += [
            "  - {name: team-feed, destination: customer-health, continue: true, match: {types: [customer_at_risk, health_score_drop, billing_retry_failed, expansion_signal, upsell_opportunity, recovered]}}",
            "  - {name: escalations, destination: cs-escalations, match: {types: [customer_at_risk, health_score_drop], min_severity: high}}",
            "  - {name: revenue, destination: revenue-signals, match: {types: [expansion_signal, upsell_opportunity]}}",
            "  - {name: billing, destination: billing-alerts, match: {types: [billing_retry_failed]}}",
        ]
        return """
            version: 1
            rules:
              - {name: account-at-risk, type: customer_at_risk, when: {zone_in: [at_risk, critical], recover_at_score: 72}, severity: high, severity_by_zone: {critical: critical}}
              - {name: sharp-score-drop, type: health_score_drop, when: {drop: {points: 15, within: 7d}}, severity: medium, severity_by_zone: {critical: high}}
              - {name: score-below-40, type: health_score_drop, when: {crosses_below: 40}, severity: high}
              - {name: billing-retry-failed, type: billing_retry_failed, when: {trigger: [billing_retry_failed]}, severity: high, cooldown: 0}
              - {name: seat-expansion, type: expansion_signal, when: {signal: {code: seats_growth, at_least: 0.2}}, severity: low, cooldown: 14d, repeat_interval: 30d}
              - {name: usage-upsell, type: upsell_opportunity, when: {signal: {code: usage_growth, at_least: 0.5, min_score: 70}}, severity: low, cooldown: 14d}
              - {name: back-to-healthy, type: recovered, when: {episode_ended: account-at-risk}, severity: low}
            routes:
            \(routeLines.joined(separator: "\n"))
            destinations:
              customer-health:
                quiet_hours:
                  timezone: America/New_York
                  windows: [{days: every_day, from: "19:00", to: "08:00"}, {days: weekends, from: "00:00", to: "24:00"}]
                digest: {every: day, at: "09:00", max_severity: low}
              cs-escalations: {}
              revenue-signals:
                quiet_hours:
                  timezone: America/New_York
                  windows: [{days: every_day, from: "18:00", to: "09:00"}]
              billing-alerts:
                quiet_hours:
                  timezone: Europe/Berlin
                  windows: [{days: every_day, from: "20:00", to: "07:30"}]
            inhibit:
              - {name: cancellation-mutes-usage, when: cancellation_scheduled, mute: {types: [health_score_drop, expansion_signal, upsell_opportunity]}}
              - {name: critical-mutes-lesser, when: open_critical_alert, mute: {max_severity: medium}}
            """
    }
}
