import Contracts

/// A sample alert of each type, with realistic facts: what `send-test` posts, what the Slack
/// benchmark renders, and what a destination's message templates are checked against.
public enum SampleAlerts {
    /// A sample `type` alert for `destination`, raised at `now`, about account `sample-<account>`.
    public static func make(
        _ type: AlertType, severity: Severity, destination: String, now: Timestamp, account: Int = 0
    )
        -> AlertRecord
    {
        let positive = type == .expansionSignal || type == .upsellOpportunity
        let recovered = type == .recovered
        let score = positive ? 86 : recovered ? 74 : 32
        let delta = positive ? 7 : recovered ? 22 : -18
        let zone: Zone = positive || recovered ? .healthy : .critical
        let record = ScoreRecord(
            accountId: "sample-\(account)", validAt: now, score: score, previousScore: score - delta, delta: delta,
            zone: zone,
            previousZone: recovered ? .critical : positive ? .healthy : .atRisk,
            components: FamilyScores(productUsage: 25, engagement: 40, support: 35, commercial: 30),
            signals: [
                Signal(
                    code: SignalCode.loginsDown, family: .productUsage, text: "Logins down 62% vs 28-day baseline",
                    impact: -12, value: -0.62, baseline: 140),
                Signal(
                    code: SignalCode.ticketSpike, family: .support, text: "5 tickets opened in 7 days (normal 1)",
                    impact: -6),
                Signal(
                    code: SignalCode.paymentFailures, family: .commercial, text: "2 failed payments this month",
                    impact: -5),
            ],
            positiveSignals: [
                Signal(
                    code: SignalCode.seatsGrowth, family: .commercial, text: "Seats up 40% in 30 days (50 → 70)",
                    impact: 8),
                Signal(
                    code: SignalCode.featureAdoption, family: .productUsage, text: "Adopted 3 premium features",
                    impact: 5),
            ],
            profile: AccountProfile(
                name: "Sample Account \(account) (fleet send-test)", tier: .enterprise, mrr: 12_400, owner: nil,
                url: "https://example.com/accounts/sample-\(account)", renewalDate: "2027-01-31"),
            triggers: [], eventIds: [], reasons: [.zoneChange], cancellationScheduled: false)
        var alert = AlertRecord(
            alertId: "sample-\(type.rawValue)-\(account)-\(now.millisecondsSinceEpoch)", type: type, severity: severity,
            priority: Priority(level: 2)!,
            destination: destination, accountId: "sample-\(account)", raisedAt: now, score: record,
            suggestedAction: positive
                ? "Offer the annual plan with the premium add-on." : "Call the champion this week and review adoption.",
            playbookURL: "https://example.com/playbooks/\(type.rawValue)", rule: "send-test")
        if type == .billingRetryFailed {
            alert.trigger = Trigger(
                type: .billingRetryFailed, eventId: "sample-e", occurredAt: now, ref: "in-sample", amount: 1_240,
                currency: "USD")
        }
        if type == .digest {
            alert.score = nil
            alert.digestTitle = "Sample digest"
            alert.digestItems = (0..<5).map { i in
                DigestItem(
                    alertId: "sample-\(i)", type: .healthScoreDrop, severity: .medium, accountId: "sample-\(i)",
                    accountName: "Sample Account \(i)",
                    score: 55 - i, delta: -(5 + i), zone: .atRisk,
                    headline: "Logins down \(20 + i)% vs 28-day baseline",
                    url: "https://example.com/accounts/sample-\(i)", at: now)
            }
        }
        return alert
    }
}
