import Contracts
import Yams

/// Everything that tunes the health model: family weights, zones, when to emit, state bounds, the
/// baseline and each signal's thresholds and penalties. `ScoringConfig()` is the built-in default;
/// `/config/scoring.yaml` writes the same defaults out with comments. Penalties are points off a
/// family's 0-100 score.
public struct ScoringConfig: Sendable, Hashable {
    /// Family weights (any positive scale; normalised by their sum).
    public var weights = FamilyScores(productUsage: 0.30, engagement: 0.25, support: 0.20, commercial: 0.25)
    /// A score at or above this is `healthy`.
    public var healthyAtLeast = 70
    /// A score at or above this (and below `healthyAtLeast`) is `at_risk`; below it is `critical`.
    public var atRiskAtLeast = 40

    // emit
    /// Emit when the score moved at least this much since the last record.
    public var scoreStep = 1
    /// Most signals (and most positive signals) named on a record.
    public var maxSignals = 5
    /// Most event ids carried on a record.
    public var maxEventIds = 8
    /// Signals that move the overall score less than this (points) are left off.
    public var minSignalImpact = 0.5

    // state
    /// Days of daily buckets kept per account.
    public var horizonDays = 90
    /// Event ids are remembered for this many days of event time; older events are refused as too late.
    public var dedupDays = 3
    /// Distinct features remembered per account (least recently seen is forgotten).
    public var maxFeatures = 12
    /// Support and commercial events remembered per account (oldest is forgotten).
    public var maxRareEvents = 96

    // baseline
    /// Days of history the baseline is learned from.
    public var baselineDays = 28
    /// Recent complete days compared with the baseline.
    public var recentDays = 7
    /// The last this many complete days are also judged on their own (without their worst day) against
    /// the same baseline, so a steady account that goes dark is seen in two working days, not a week;
    /// the spread still protects small and noisy accounts. 0 turns it off; else 3 or more, below `recentDays`.
    public var shortDays = 3
    /// The recent window is also compared with a baseline that ends this many days earlier than the
    /// usual one (the account's level of some three to seven weeks ago), so a slow decline, which the
    /// usual baseline follows down, is still judged against the level before it. Drops only (growth
    /// is judged against the usual baseline). 0 turns it off.
    public var declineLagDays = 14
    /// Days of history needed before drops are judged.
    public var minHistoryDays = 14
    /// Half-life of the exponential weights of the baseline, in days.
    public var halfLifeDays = 14.0
    /// Drops smaller than this fraction are ignored.
    public var minDrop = 0.15
    /// A drop of `d` (a fraction) over the week costs `100 x d x (d / 0.9)^(dropPower - 1)` points at
    /// full confidence: 1 counts every drop in proportion; at 2 (the default) a moderate drop is named
    /// but weighs little (a quiet month, down 40%, costs 18 points) while a collapse (down 90% or more)
    /// weighs in full, and so does any drop with a support or commercial risk beside it
    /// (`HealthScorer.Judged`, `SeriesCache.negatives(corroborated:)`).
    public var dropPower = 2.0
    /// A drop starts to count at this many standard deviations below normal...
    public var zStart = 2.0
    /// ...and counts fully from this many.
    public var zFull = 3.5

    // signals
    public var inactivityAfterDays = 3
    public var inactivityPerDay = 10.0
    public var inactivityMax = 60.0
    /// With a baseline, a silence starts to count when the account's own weekday means expect at
    /// least this many logins over its complete silent days (the chance of none is e^-this: 10,
    /// 4.5e-5, so that an account looked at some fifteen times a month, each look a fresh silence,
    /// is falsely silent less than once in a thousand months)... 0: the fixed rule
    /// (`inactivityAfterDays`) always.
    public var inactivityMinExpected = 10.0
    /// ...and counts fully (`inactivityMax`) from this many (20: 2e-9, room for days busier or
    /// quieter than Poisson), at once: a daily-active account that goes dark needs one silent day.
    public var inactivityFullExpected = 20.0
    /// A silence counts only once it also expects this many of the account's busiest days (one
    /// dark working day, a holiday of its own, is not a trend).
    public var inactivityTrendDays = 1.5
    /// ...unless it expects at least this many logins: evidence so strong for the account's own
    /// rhythm (e^-this) that it counts at once, without waiting for the trend (0: always wait).
    public var inactivityAtOnceExpected = 0.0
    /// Activity events an account's hour profile needs before the part of today that has passed
    /// counts in a silence (before: complete days only).
    public var inactivityHourProfileMinEvents = 20
    /// How often idle accounts are re-scored, in hours of event time (divides 24; 1, the default:
    /// on the hour; 24: at each UTC midnight, on complete days only). Below 24 each re-scoring
    /// counts the part of today that has passed in a silence.
    public var rescoreEveryHours = 1
    public var apiErrorMinRate = 0.05
    public var apiErrorMax = 40.0
    public var ticketMinCount = 3
    public var ticketMinRatio = 2.0
    public var ticketMax = 60.0
    public var escalationDays = 14
    public var escalationPenalty = 15.0
    public var escalationMax = 45.0
    public var sentimentDays = 14
    public var sentimentBelow = -0.3
    public var sentimentPenalty = 30.0
    public var npsDays = 30
    public var npsDetractorAtMost = 6
    public var npsPromoterAtLeast = 9
    public var npsPenalty = 20.0
    public var paymentDays = 7
    public var paymentPenalty = 25.0
    public var paymentMax = 60.0
    public var billingRetryDays = 14
    public var billingRetryPenalty = 50.0
    public var seatsDays = 14
    public var seatsMinChange = 0.10
    public var seatsDownMax = 40.0
    public var renewalDays = 30
    public var renewalPenalty = 10.0
    public var cancellationPenalty = 70.0
    /// While a cancellation is scheduled the score is at most this.
    public var cancellationScoreCap = 45
    public var championDays = 30
    public var championPenalty = 30.0
    public var usageGrowthMinRatio = 0.30

    // population
    /// A day when the whole population's activity is at most `populationDipBelow` of its normal is a
    /// shared dip (a holiday, an outage of the event pipeline), when that normal has at least this many
    /// active accounts; 0: the population is not consulted.
    public var populationMinAccounts = 50
    /// See `populationMinAccounts`.
    public var populationDipBelow = 0.8

    // holidays
    /// Public holidays by region (the account's `timezone`, as `account_updated` gives it, e.g.
    /// `Europe/Berlin`): epoch days (UTC), sorted. On them an account of that region is expected
    /// nothing, the day is left out of its baseline and not counted as inactivity.
    public var holidays: [String: [Int64]] = [:]

    /// The built-in defaults.
    public init() {}

    /// The zone of a score under these thresholds.
    public func zone(of score: Int) -> Zone {
        score >= healthyAtLeast ? .healthy : (score >= atRiskAtLeast ? .atRisk : .critical)
    }

    /// Loads a scoring file. Keys left out keep their defaults; unknown keys, wrong types and values
    /// out of range fail with the file, the key, its line and what is wrong.
    public init(yaml text: String, file: String) throws(HealthModelError) {
        self.init()
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw .config(file: file, key: "(document)", line: nil, reason: "not valid YAML: \(error)")
        }
        guard let root else { return }  // empty file: defaults
        var flat: [(key: String, value: String, line: Int?)] = []
        try Self.flatten(root, prefix: "", file: file, into: &flat)
        var seen = Set<String>()
        let ints = Self.intKeys()
        let doubles = Self.doubleKeys()
        for (key, value, line) in flat {
            guard seen.insert(key).inserted else {
                throw .config(file: file, key: key, line: line, reason: "given twice")
            }
            if key.hasPrefix("holidays.") {
                // A region's holidays: dates (YYYY-MM-DD), comma-separated.
                var days: [Int64] = []
                for part in value.split(separator: ",") {
                    let text = part.trimmingCharacters(in: .whitespaces)
                    guard let day = RenewalDate.epochDay(text) else {
                        throw .config(
                            file: file, key: key, line: line,
                            reason: "expected dates (YYYY-MM-DD), comma-separated, got '\(text.prefix(40))'")
                    }
                    days.append(day)
                }
                holidays[String(key.dropFirst("holidays.".count))] = Array(Set(days)).sorted()
                continue
            }
            if let entry = ints.first(where: { $0.0 == key }) {
                guard let v = Int(value) else {
                    throw .config(
                        file: file, key: key, line: line, reason: "expected an integer, got '\(value.prefix(40))'")
                }
                guard entry.2.contains(v) else {
                    throw .config(
                        file: file, key: key, line: line,
                        reason: "\(v) is outside \(entry.2.lowerBound)...\(entry.2.upperBound)")
                }
                self[keyPath: entry.1] = v
            } else if let entry = doubles.first(where: { $0.0 == key }) {
                guard let v = Double(value), v.isFinite else {
                    throw .config(
                        file: file, key: key, line: line, reason: "expected a number, got '\(value.prefix(40))'")
                }
                guard entry.2.contains(v) else {
                    throw .config(
                        file: file, key: key, line: line,
                        reason: "\(value) is outside \(entry.2.lowerBound)...\(entry.2.upperBound)")
                }
                self[keyPath: entry.1] = v
            } else {
                throw .config(file: file, key: key, line: line, reason: "unknown key")
            }
        }
        let lineOf = { (key: String) in flat.first { $0.key == key }?.line }
        let w = weights
        guard w.productUsage + w.engagement + w.support + w.commercial > 0 else {
            throw .config(
                file: file, key: "weights", line: lineOf("weights.product_usage"),
                reason: "weights must not all be zero")
        }
        guard atRiskAtLeast <= healthyAtLeast else {
            throw .config(
                file: file, key: "zones.at_risk", line: lineOf("zones.at_risk"),
                reason: "must not be above zones.healthy (\(healthyAtLeast))")
        }
        guard shortDays == 0 || (shortDays >= 3 && shortDays < recentDays) else {
            throw .config(
                file: file, key: "baseline.short_days", line: lineOf("baseline.short_days"),
                reason: "must be 0 (off), or 3 or more and below baseline.recent_days (\(recentDays))")
        }
        guard 24 % rescoreEveryHours == 0 else {
            throw .config(
                file: file, key: "emit.rescore_every_hours", line: lineOf("emit.rescore_every_hours"),
                reason: "must divide 24 (1, 2, 3, 4, 6, 8, 12 or 24), so every UTC midnight is a re-scoring")
        }
        guard inactivityMinExpected <= inactivityFullExpected else {
            throw .config(
                file: file, key: "signals.inactivity.min_expected", line: lineOf("signals.inactivity.min_expected"),
                reason: "must not be above signals.inactivity.full_expected (\(inactivityFullExpected))")
        }
        guard zStart < zFull else {
            throw .config(
                file: file, key: "baseline.z_start", line: lineOf("baseline.z_start"),
                reason: "must be below baseline.z_full (\(zFull))")
        }
        let needed = baselineDays + recentDays + declineLagDays + 1
        guard horizonDays >= needed,
            horizonDays >= max(npsDays, championDays, escalationDays, sentimentDays, billingRetryDays, seatsDays) + 1
        else {
            throw .config(
                file: file, key: "state.horizon_days", line: lineOf("state.horizon_days"),
                reason:
                    "must cover the baseline, the recent window, the decline lag and every signal's days (at least \(needed))"
            )
        }
        guard minHistoryDays <= baselineDays else {
            throw .config(
                file: file, key: "baseline.min_history_days", line: lineOf("baseline.min_history_days"),
                reason: "must not exceed baseline.days (\(baselineDays))")
        }
    }

    private static func flatten(
        _ node: Node, prefix: String, file: String, into out: inout [(key: String, value: String, line: Int?)]
    ) throws(HealthModelError) {
        switch node {
        case .mapping(let mapping):
            for (k, v) in mapping {
                guard let name = k.string else {
                    throw .config(
                        file: file, key: prefix.isEmpty ? "(document)" : prefix, line: k.mark?.line,
                        reason: "keys must be plain names")
                }
                let key = prefix.isEmpty ? name : "\(prefix).\(name)"
                try flatten(v, prefix: key, file: file, into: &out)
            }
        case .scalar(let scalar):
            guard !prefix.isEmpty else {
                throw .config(
                    file: file, key: "(document)", line: scalar.mark?.line, reason: "expected a mapping of sections")
            }
            out.append((prefix, scalar.string, scalar.mark?.line))
        case .sequence(let seq):
            throw .config(
                file: file, key: prefix.isEmpty ? "(document)" : prefix, line: seq.mark?.line,
                reason: "expected a value or a mapping, not a list")
        case .alias(let alias):
            throw .config(
                file: file, key: prefix.isEmpty ? "(document)" : prefix, line: alias.mark?.line,
                reason: "aliases are not supported")
        }
    }

    private static func intKeys() -> [(String, WritableKeyPath<ScoringConfig, Int>, ClosedRange<Int>)] {
        [
            ("zones.healthy", \.healthyAtLeast, 1...100),
            ("zones.at_risk", \.atRiskAtLeast, 1...100),
            ("emit.score_step", \.scoreStep, 1...100),
            ("emit.max_signals", \.maxSignals, 1...20),
            ("emit.max_event_ids", \.maxEventIds, 0...100),
            ("state.horizon_days", \.horizonDays, 8...366),
            ("state.dedup_days", \.dedupDays, 1...31),
            ("state.max_features", \.maxFeatures, 0...64),
            ("state.max_rare_events", \.maxRareEvents, 8...1024),
            ("baseline.days", \.baselineDays, 7...120),
            ("baseline.recent_days", \.recentDays, 1...28),
            ("baseline.min_history_days", \.minHistoryDays, 1...120),
            ("baseline.short_days", \.shortDays, 0...27),
            ("baseline.decline_lag_days", \.declineLagDays, 0...60),
            ("signals.inactivity.after_days", \.inactivityAfterDays, 1...60),
            ("signals.inactivity.hour_profile_min_events", \.inactivityHourProfileMinEvents, 1...100_000),
            ("emit.rescore_every_hours", \.rescoreEveryHours, 1...24),
            ("signals.ticket_spike.min_tickets", \.ticketMinCount, 1...1000),
            ("signals.escalations.days", \.escalationDays, 1...90),
            ("signals.negative_sentiment.days", \.sentimentDays, 1...90),
            ("signals.nps.days", \.npsDays, 1...365),
            ("signals.nps.detractor_at_most", \.npsDetractorAtMost, 0...10),
            ("signals.nps.promoter_at_least", \.npsPromoterAtLeast, 0...10),
            ("signals.payment_failures.days", \.paymentDays, 1...90),
            ("signals.billing_retry_failed.days", \.billingRetryDays, 1...90),
            ("signals.seats.days", \.seatsDays, 1...90),
            ("signals.renewal_soon.days", \.renewalDays, 0...365),
            ("signals.cancellation.score_cap", \.cancellationScoreCap, 0...100),
            ("signals.champion_left.days", \.championDays, 1...365),
            ("population.min_accounts", \.populationMinAccounts, 0...1_000_000),
        ]
    }

    private static func doubleKeys() -> [(String, WritableKeyPath<ScoringConfig, Double>, ClosedRange<Double>)] {
        [
            ("weights.product_usage", \.weights.productUsage, 0...100),
            ("weights.engagement", \.weights.engagement, 0...100),
            ("weights.support", \.weights.support, 0...100),
            ("weights.commercial", \.weights.commercial, 0...100),
            ("emit.min_signal_impact", \.minSignalImpact, 0...100),
            ("baseline.half_life_days", \.halfLifeDays, 0.5...365),
            ("baseline.min_drop", \.minDrop, 0...0.99),
            ("baseline.drop_power", \.dropPower, 1...4),
            ("baseline.z_start", \.zStart, 0...20),
            ("baseline.z_full", \.zFull, 0...20),
            ("signals.inactivity.per_day", \.inactivityPerDay, 0...100),
            ("signals.inactivity.max", \.inactivityMax, 0...100),
            ("signals.inactivity.min_expected", \.inactivityMinExpected, 0...10_000),
            ("signals.inactivity.full_expected", \.inactivityFullExpected, 0...10_000),
            ("signals.inactivity.trend_days", \.inactivityTrendDays, 0...30),
            ("signals.inactivity.at_once_expected", \.inactivityAtOnceExpected, 0...10_000),
            ("signals.api_errors.min_rate", \.apiErrorMinRate, 0...1),
            ("signals.api_errors.max", \.apiErrorMax, 0...100),
            ("signals.ticket_spike.min_ratio", \.ticketMinRatio, 1...100),
            ("signals.ticket_spike.max", \.ticketMax, 0...100),
            ("signals.escalations.per_escalation", \.escalationPenalty, 0...100),
            ("signals.escalations.max", \.escalationMax, 0...100),
            ("signals.negative_sentiment.below", \.sentimentBelow, -1...1),
            ("signals.negative_sentiment.penalty", \.sentimentPenalty, 0...100),
            ("signals.nps.penalty", \.npsPenalty, 0...100),
            ("signals.payment_failures.per_failure", \.paymentPenalty, 0...100),
            ("signals.payment_failures.max", \.paymentMax, 0...100),
            ("signals.billing_retry_failed.penalty", \.billingRetryPenalty, 0...100),
            ("signals.seats.min_change", \.seatsMinChange, 0...10),
            ("signals.seats.down_max", \.seatsDownMax, 0...100),
            ("signals.renewal_soon.penalty", \.renewalPenalty, 0...100),
            ("signals.cancellation.penalty", \.cancellationPenalty, 0...100),
            ("signals.champion_left.penalty", \.championPenalty, 0...100),
            ("signals.usage_growth.min_ratio", \.usageGrowthMinRatio, 0...100),
            ("population.dip_below", \.populationDipBelow, 0...0.99),
        ]
    }
}
