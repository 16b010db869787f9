import AlertRules
import Contracts
import HealthModel

/// The health model judged on time to detect, over a backtest of a generated sample: for each story
/// account that goes dark (the collapse, the silent account), how long after it went dark its score
/// left `healthy`, went `critical`, and the first churn-risk alert was raised; and the false
/// positives: ordinary accounts (no story) that left `healthy` or alerted at all.
public struct StoryDetection: Sendable {
    /// One story account.
    public struct Story: Sendable, Hashable {
        /// `collapse` or `silent`.
        public var story: String
        /// The story's account.
        public var accountId: String
        /// Its tier, from its latest profile.
        public var tier: Tier?
        /// The first day of the story (the collapse declines for two days before it is dark).
        public var startedAt: Timestamp
        /// No product activity from this time on.
        public var darkAt: Timestamp
        /// The first score record after `startedAt` that is not healthy.
        public var atRiskAt: Timestamp?
        /// The first critical score record after `startedAt`.
        public var criticalAt: Timestamp?
        /// The first `customer_at_risk` alert raised after `startedAt` (event time).
        public var alertAt: Timestamp?

        /// Hours from dark to not healthy (negative: before it was fully dark).
        public var hoursToAtRisk: Double? {
            atRiskAt.map { Double($0.millisecondsSinceEpoch - darkAt.millisecondsSinceEpoch) / 3_600_000 }
        }
        /// Hours from dark to critical.
        public var hoursToCritical: Double? {
            criticalAt.map { Double($0.millisecondsSinceEpoch - darkAt.millisecondsSinceEpoch) / 3_600_000 }
        }
        /// Hours from dark to the first churn-risk alert.
        public var hoursToAlert: Double? {
            alertAt.map { Double($0.millisecondsSinceEpoch - darkAt.millisecondsSinceEpoch) / 3_600_000 }
        }
    }

    /// The collapse and the silent account, when the sample has them.
    public var stories: [Story]
    /// The expanding account (users +60% from the story day): its first upsell alert after the story began.
    public var expansionAccount: String?
    /// The expanding account's first upsell alert after the story began, if any.
    public var upsellAt: Timestamp?
    /// When the expansion began (the story day).
    public var expansionStartedAt: Timestamp
    /// Accounts without a story.
    public var ordinaryAccounts: Int
    /// Ordinary accounts that left `healthy` at least once.
    public var ordinaryNotHealthy: [String]
    /// Alerts (one per alert id) on ordinary accounts, digest lines included.
    public var ordinaryAlerts: [BacktestAlert]

    /// Measures a backtest of `generator`'s sample (run with the rules whose alerts count).
    public init(generator: SampleGenerator, result: BacktestResult) {
        let s = generator.stories
        let start = generator.options.start
        let begun = start.adding(days: Int64(s.startDay))
        let alerts = BacktestAlert.group(result.primary.raised)
        var list: [Story] = []
        for (name, account) in [("collapse", s.collapse), ("silent", s.silent)] {
            guard let account, let dark = s.darkFrom(account, start: start) else { continue }
            let series = result.series.first { $0.accountId == account }
            let after = (series?.points ?? []).filter { $0.at >= begun }
            list.append(
                Story(
                    story: name, accountId: account, tier: series?.profile.tier, startedAt: begun, darkAt: dark,
                    atRiskAt: after.first { $0.zone != .healthy }?.at,
                    criticalAt: after.first { $0.zone == .critical }?.at,
                    alertAt: alerts.first {
                        $0.accountId == account && $0.type == .customerAtRisk && $0.raisedAt >= begun
                    }?.raisedAt))
        }
        stories = list
        expansionAccount = s.expansion
        expansionStartedAt = begun
        upsellAt =
            alerts.first { $0.accountId == s.expansion && $0.type == .upsellOpportunity && $0.raisedAt >= begun }?
            .raisedAt
        let ordinary = Set(generator.ordinaryAccounts)
        ordinaryAccounts = ordinary.count
        ordinaryNotHealthy = result.series.filter {
            ordinary.contains($0.accountId) && $0.points.contains { $0.zone != .healthy }
        }.map(\.accountId)
        ordinaryAlerts = alerts.filter { ordinary.contains($0.accountId) }
    }

    /// One line per story, then the false positives.
    public var lines: [String] {
        func hours(_ h: Double?) -> String {
            guard let h else { return "never" }
            return "\((h / 24 * 10).rounded() / 10)d"
        }
        var out = stories.map { st in
            "\(st.story) \(st.accountId) (\(st.tier?.rawValue ?? "?")), dark from \(st.darkAt.rfc3339): not healthy after \(hours(st.hoursToAtRisk)), critical after \(hours(st.hoursToCritical)), first churn-risk alert after \(hours(st.hoursToAlert))"
        }
        if let account = expansionAccount {
            let after =
                upsellAt.map {
                    hours(Double($0.millisecondsSinceEpoch - expansionStartedAt.millisecondsSinceEpoch) / 3_600_000)
                } ?? "never"
            out.append(
                "expansion \(account), growing from \(expansionStartedAt.rfc3339): first upsell alert after \(after)")
        }
        out.append(
            "false positives: \(ordinaryNotHealthy.count) of \(ordinaryAccounts) ordinary accounts left healthy; \(ordinaryAlerts.count) alerts on ordinary accounts"
                + (ordinaryAlerts.isEmpty
                    ? ""
                    : " ("
                        + ordinaryAlerts.prefix(8).map { "\($0.accountId) \($0.type.rawValue) \($0.raisedAt.rfc3339)" }
                        .joined(separator: ", ") + ")"))
        return out
    }
}
