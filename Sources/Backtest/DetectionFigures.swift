import AlertRules
import Contracts
import HealthModel

/// Time to detect and false alerts of a backtest over a `LabelledHistory`: per story type, how
/// many hours after its onset the first alert of an expected type was raised (p50, p90, max, and
/// how many were never detected); per kind of noise, the risk alerts raised on ordinary accounts
/// after the warm-up, per 1,000 accounts per month; and the risk alerts raised on ordinary accounts
/// around the holiday every account shares. Pure.
public struct DetectionFigures: Sendable {
    /// One story type's figures.
    public struct StoryFigures: Sendable, Hashable {
        public var story: LabelledHistory.Story
        public var accounts: Int
        /// Hours from onset to the first expected alert, sorted, of the detected accounts.
        public var hours: [Double]
        /// The same in the account's working hours (`LabelledHistory.businessHours`), sorted.
        public var businessHours: [Double]
        public var missed: Int { accounts - hours.count }

        public init(story: LabelledHistory.Story, accounts: Int, hours: [Double], businessHours: [Double] = []) {
            self.story = story
            self.accounts = accounts
            self.hours = hours
            self.businessHours = businessHours
        }

        /// The `q` quantile (0...1) of the detected accounts' hours (nearest rank), nil if none.
        public func quantile(_ q: Double) -> Double? { Self.quantile(q, of: hours) }

        /// The `q` quantile of the detected accounts' working hours, nil if none.
        public func businessQuantile(_ q: Double) -> Double? { Self.quantile(q, of: businessHours) }

        static func quantile(_ q: Double, of sorted: [Double]) -> Double? {
            guard !sorted.isEmpty else { return nil }
            let rank = Int((q * Double(sorted.count)).rounded(.up)) - 1
            return sorted[min(max(rank, 0), sorted.count - 1)]
        }
    }

    /// One kind of noise's false alerts.
    public struct NoiseFigures: Sendable, Hashable {
        public var noise: LabelledHistory.Noise
        public var accounts: Int
        /// Distinct risk alerts (`customer_at_risk`, `health_score_drop`) raised after the warm-up.
        public var falseAlerts: Int
        /// Accounts with at least one.
        public var accountsAlerted: Int
        /// Per 1,000 accounts per 30-day month.
        public var perThousandPerMonth: Double
    }

    public var stories: [StoryFigures]
    public var noise: [NoiseFigures]
    /// Ordinary accounts in all.
    public var ordinaryAccounts: Int
    /// Risk alerts on ordinary accounts raised from the shared holiday's first day to two days after it.
    public var holidayFalseAlerts: Int
    /// Of `holidayFalseAlerts`, those the holiday caused: per account, the risk alerts in the holiday's
    /// window beyond those the same history without the holiday raises in it (an account whose own
    /// noise, a quiet month or a tracking outage, alerts in that window alerts there either way).
    /// Nil until `measure` has run the history without its holiday.
    public var holidayCausedAlerts: Int?
    /// Of the accounts with a risk alert in the holiday's window, those without one in it when the
    /// same history has no holiday: ordinary accounts the holiday alone made alert (the rest were
    /// alerting for their own noise, which the holiday can prolong). Nil as `holidayCausedAlerts`.
    public var holidayAlertedAccounts: Int?
    /// Months observed after the warm-up.
    public var months: Double
    /// Days counted as the shared holiday's window (0 without one).
    public var holidayWindowDays: Int
    /// What the shared days are: "holiday", or "outage" (of the customer's event pipeline).
    public var sharedDays = "holiday"
    /// False alerts on ordinary accounts by rule (the rule that raised them).
    public var falseAlertsByRule: [String: Int] = [:]
    /// Every story account, in the history's order: when its story began and how long its first
    /// expected alert took (nil: missed), so a slow or missed detection can be looked into.
    public var storyAccounts: [StoryAccount] = []

    /// One story account's detection.
    public struct StoryAccount: Sendable, Hashable {
        public var accountId: String
        public var tier: Tier
        public var story: LabelledHistory.Story
        public var onset: Timestamp
        /// Hours from onset to the first expected alert; nil when none came.
        public var hours: Double?
        /// The same in the account's working hours (weekdays 08:00-18:00 local, the shared holiday
        /// excepted).
        public var businessHours: Double?
        /// The rule of that first alert.
        public var rule: String?
    }

    /// Every risk alert on an ordinary account after the warm-up, in the history's order of accounts
    /// and then of time, so a false alert can be looked into.
    public var falseAlerts: [FalseAlert] = []

    /// One false alert: a risk alert on an ordinary account.
    public struct FalseAlert: Sendable, Hashable {
        public var accountId: String
        public var tier: Tier
        public var noise: LabelledHistory.Noise
        public var raisedAt: Timestamp
        /// The rule that raised it.
        public var rule: String
        /// Whether it was raised in the window of the holiday every account shares.
        public var duringSharedHoliday: Bool
        /// The score that raised it and the texts of its largest signals (at most three).
        public var score: Int?
        public var signals: [String] = []
    }

    static let riskTypes: Set<AlertType> = [.customerAtRisk, .healthScoreDrop]

    /// Runs `history` through the stages' domain code, the path of `fleet-admin backtest` (the health
    /// model of `scorer`, then `engine`'s rules, up to the history's end) and reads its figures; with
    /// a shared holiday and ordinary accounts, runs the same history without the holiday too, for
    /// `holidayCausedAlerts`. The one path of `fleet-admin bench detection` and of the tests that
    /// bound time to detect.
    public static func measure(
        _ history: LabelledHistory, scorer: HealthScorer = HealthScorer(), engine: RulesEngine
    ) -> DetectionFigures {
        var figures = measureOnce(history, scorer: scorer, engine: engine)
        if history.options.sharedHoliday, let first = history.sharedHolidayDays.first,
            history.accounts.contains(where: { $0.story == nil })
        {
            var options = history.options
            options.sharedHoliday = false
            let without = measureOnce(LabelledHistory(options: options), scorer: scorer, engine: engine)
            let window = first * Timestamp.millisecondsPerDay..<(first + 4) * Timestamp.millisecondsPerDay
            func inWindow(_ f: DetectionFigures) -> [String: Int] {
                var counts: [String: Int] = [:]
                for a in f.falseAlerts where window.contains(a.raisedAt.millisecondsSinceEpoch) {
                    counts[a.accountId, default: 0] += 1
                }
                return counts
            }
            let base = inWindow(without)
            let with = inWindow(figures)
            figures.holidayCausedAlerts = with.reduce(0) { $0 + max(0, $1.value - base[$1.key, default: 0]) }
            figures.holidayAlertedAccounts = with.keys.filter { base[$0] == nil }.count
        }
        return figures
    }

    private static func measureOnce(
        _ history: LabelledHistory, scorer: HealthScorer, engine: RulesEngine
    ) -> DetectionFigures {
        var backtest = Backtest(
            scorer: scorer, engines: [engine], options: .init(to: Timestamp(millisecondsSinceEpoch: history.endMs)))
        for day in 0..<history.options.days {
            for line in history.lines(forDay: day) { line.withUnsafeBufferPointer { backtest.process(line: $0) } }
        }
        return DetectionFigures(history: history, result: backtest.finish())
    }

    public init(history: LabelledHistory, result: BacktestResult) {
        let raised = result.primary.raised.map(\.alert)
        var firstByAccount: [String: [AlertRecord]] = [:]
        var seen: Set<String> = []
        for alert in raised where seen.insert(alert.alertId).inserted {
            firstByAccount[alert.accountId, default: []].append(alert)
        }
        let warmUpEnd = history.startMs + Int64(history.options.warmUpDays) * Timestamp.millisecondsPerDay
        let observed = max(0, Double(history.endMs - warmUpEnd)) / Double(30 * Timestamp.millisecondsPerDay)
        months = observed
        holidayWindowDays = history.sharedHolidayDays.isEmpty ? 0 : 4
        sharedDays = history.options.sharedOutage ? "outage" : "holiday"
        let holiday = history.sharedHolidayDays.first.map {
            ($0 * Timestamp.millisecondsPerDay, ($0 + 4) * Timestamp.millisecondsPerDay)
        }

        var byStory: [LabelledHistory.Story: StoryFigures] = [:]
        var byNoise: [LabelledHistory.Noise: NoiseFigures] = [:]
        var ordinary = 0
        var holidayAlerts = 0
        for (index, account) in history.accounts.enumerated() {
            let alerts = firstByAccount[account.id] ?? []
            if let story = account.story, let onset = account.onsetMs {
                var figures = byStory[story] ?? StoryFigures(story: story, accounts: 0, hours: [])
                figures.accounts += 1
                let expected = story.expectedAlerts
                if let first = alerts.filter({
                    expected.contains($0.type) && $0.raisedAt.millisecondsSinceEpoch >= onset
                })
                .min(by: { $0.raisedAt < $1.raisedAt }) {
                    figures.hours.append(Double(first.raisedAt.millisecondsSinceEpoch - onset) / 3_600_000)
                    let business = history.businessHours(
                        ofAccount: index, from: onset, to: first.raisedAt.millisecondsSinceEpoch)
                    figures.businessHours.append(business)
                    storyAccounts.append(
                        StoryAccount(
                            accountId: account.id, tier: account.tier, story: story,
                            onset: Timestamp(millisecondsSinceEpoch: onset),
                            hours: Double(first.raisedAt.millisecondsSinceEpoch - onset) / 3_600_000,
                            businessHours: business, rule: first.rule ?? first.type.rawValue))
                } else {
                    storyAccounts.append(
                        StoryAccount(
                            accountId: account.id, tier: account.tier, story: story,
                            onset: Timestamp(millisecondsSinceEpoch: onset), hours: nil, businessHours: nil, rule: nil))
                }
                byStory[story] = figures
            } else {
                ordinary += 1
                let risk = alerts.filter {
                    Self.riskTypes.contains($0.type) && $0.raisedAt.millisecondsSinceEpoch >= warmUpEnd
                }
                .sorted { $0.raisedAt < $1.raisedAt }
                for alert in risk {
                    let ms = alert.raisedAt.millisecondsSinceEpoch
                    falseAlerts.append(
                        FalseAlert(
                            accountId: account.id, tier: account.tier, noise: account.noise, raisedAt: alert.raisedAt,
                            rule: alert.rule ?? alert.type.rawValue,
                            duringSharedHoliday: holiday.map { ms >= $0.0 && ms < $0.1 } ?? false,
                            score: alert.score?.score, signals: (alert.score?.signals ?? []).prefix(3).map(\.text)))
                }
                var figures =
                    byNoise[account.noise]
                    ?? NoiseFigures(
                        noise: account.noise, accounts: 0, falseAlerts: 0, accountsAlerted: 0, perThousandPerMonth: 0)
                figures.accounts += 1
                figures.falseAlerts += risk.count
                for alert in risk { falseAlertsByRule[alert.rule ?? alert.type.rawValue, default: 0] += 1 }
                figures.accountsAlerted += risk.isEmpty ? 0 : 1
                byNoise[account.noise] = figures
                if let (from, to) = holiday {
                    holidayAlerts +=
                        risk.filter {
                            $0.raisedAt.millisecondsSinceEpoch >= from && $0.raisedAt.millisecondsSinceEpoch < to
                        }.count
                }
            }
        }
        stories = LabelledHistory.Story.allCases.compactMap { story in
            byStory[story].map {
                var f = $0
                f.hours.sort()
                f.businessHours.sort()
                return f
            }
        }
        noise = LabelledHistory.Noise.allCases.compactMap { kind in
            byNoise[kind].map { f in
                var f = f
                f.perThousandPerMonth =
                    observed > 0 && f.accounts > 0
                    ? Double(f.falseAlerts) / Double(f.accounts) * 1000 / observed : 0
                return f
            }
        }
        ordinaryAccounts = ordinary
        holidayFalseAlerts = holidayAlerts
    }

    /// The same, without the alerts raised around the shared holiday (the holiday's four days are
    /// left out of the months too).
    public var falseAlertsOutsideHolidayPerThousandPerMonth: Double {
        let alerts = noise.reduce(0) { $0 + $1.falseAlerts } - holidayFalseAlerts
        let monthsOutside = months - Double(holidayWindowDays) / 30
        return monthsOutside > 0 && ordinaryAccounts > 0
            ? Double(alerts) / Double(ordinaryAccounts) * 1000 / monthsOutside : 0
    }

    /// Risk alerts on ordinary accounts per 1,000 accounts per month, over every kind of noise.
    public var falseAlertsPerThousandPerMonth: Double {
        let alerts = noise.reduce(0) { $0 + $1.falseAlerts }
        return months > 0 && ordinaryAccounts > 0 ? Double(alerts) / Double(ordinaryAccounts) * 1000 / months : 0
    }

    /// The figures as a table, one line per story type and per kind of noise.
    public var lines: [String] {
        func h(_ v: Double?) -> String { v.map { String(format: "%.1f", $0) } ?? "-" }
        var out = ["story               accounts  detected  missed  p50 h   p90 h   max h  p50 bh  p90 bh"]
        for s in stories {
            out.append(
                s.story.rawValue.padding(toLength: 20, withPad: " ", startingAt: 0)
                    + "\(s.accounts)".leftPadded(8) + "\(s.hours.count)".leftPadded(10) + "\(s.missed)".leftPadded(8)
                    + h(s.quantile(0.5)).leftPadded(7) + h(s.quantile(0.9)).leftPadded(8)
                    + h(s.hours.last).leftPadded(8) + h(s.businessQuantile(0.5)).leftPadded(8)
                    + h(s.businessQuantile(0.9)).leftPadded(8))
        }
        out.append("noise               accounts  false alerts  accounts alerted  per 1,000 accounts per month")
        for n in noise {
            out.append(
                n.noise.rawValue.padding(toLength: 20, withPad: " ", startingAt: 0) + "\(n.accounts)".leftPadded(8)
                    + "\(n.falseAlerts)".leftPadded(14) + "\(n.accountsAlerted)".leftPadded(18)
                    + String(format: "%.1f", n.perThousandPerMonth).leftPadded(30))
        }
        if !falseAlertsByRule.isEmpty {
            out.append(
                "false alerts by rule: "
                    + falseAlertsByRule.sorted { ($0.value, $1.key) > ($1.value, $0.key) }
                    .map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        }
        out.append(
            "all ordinary accounts: \(ordinaryAccounts), "
                + String(format: "%.1f", falseAlertsPerThousandPerMonth)
                + " false alerts per 1,000 accounts per month over "
                + String(format: "%.1f", months) + " months (outside the shared \(sharedDays): "
                + String(format: "%.1f", falseAlertsOutsideHolidayPerThousandPerMonth)
                + "); \(holidayFalseAlerts) risk alerts "
                + "on them during the \(sharedDays) all accounts share"
                + (holidayCausedAlerts.map {
                    ", \($0) caused by it (beyond the same history without the \(sharedDays))"
                } ?? "")
                + (holidayAlertedAccounts.map { ", on \($0) accounts that do not alert then without it" } ?? ""))
        return out
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
