import Backtest
import Contracts
import Testing

/// The alerts the precision report counts when it reads the cluster: the delivered ones.
@Suite struct SentAlertsTests {
    static let t0 = Timestamp(millisecondsSinceEpoch: 1_795_132_800_000)

    static func alert(_ id: String, _ destination: String, rule: String? = "enterprise_at_risk", at: Timestamp = t0)
        -> AlertRecord
    {
        AlertRecord(
            alertId: id, type: .customerAtRisk, severity: .high, priority: Priority(level: 2)!,
            destination: destination,
            accountId: "acct-\(id)", raisedAt: at, rule: rule)
    }

    static func delivery(_ id: String, _ destination: String, type: String = "customer_at_risk") -> DeliveredAlert {
        DeliveredAlert(
            alertId: id, destination: destination, accountId: "acct-\(id)", type: type,
            deliveredAt: t0.adding(seconds: 5))
    }

    @Test func withoutADeliveryLogEveryAlertCounts() {
        let alerts = [Self.alert("a", "x"), Self.alert("b", "x")]
        #expect(SentAlerts.merge(alerts: alerts, deliveries: [], feedback: []) == alerts)
    }

    @Test func onlyDeliveredAlertsCountOnceWithTheirRecordsFacts() {
        let alerts = [
            Self.alert("a", "x"), Self.alert("a", "x", at: Self.t0.adding(seconds: 60)), Self.alert("b", "x"),
        ]
        let sent = SentAlerts.merge(
            alerts: alerts, deliveries: [Self.delivery("a", "x"), Self.delivery("a", "x")], feedback: [])
        #expect(sent == [Self.alert("a", "x")])
    }

    @Test func aDeliveryWhoseAlertIsGoneTakesItsRuleFromFeedback() {
        let feedback = [
            FeedbackRecord(
                alertId: "c", rule: "usage_collapse", destination: "x", verdict: .useful,
                recordedAt: Self.t0.adding(seconds: 90))
        ]
        let sent = SentAlerts.merge(
            alerts: [],
            deliveries: [
                Self.delivery("c", "x"), Self.delivery("d", "x"), Self.delivery("e", "x", type: "no_such_type"),
            ],
            feedback: feedback)
        #expect(sent.map(\.alertId) == ["c", "d"])
        #expect(sent.map(\.rule) == ["usage_collapse", nil])
        #expect(sent.first?.raisedAt == Self.t0.adding(seconds: 5))
    }

    /// Edits of posted messages (issue 24) are not alerts: neither their records nor their deliveries.
    @Test func updateRecordsAndTheirDeliveriesAreNotCounted() {
        var edit = Self.alert("u", "x")
        edit.thread = "a"
        edit.update = MessageUpdate(state: .acknowledged, by: "U0DANA", at: Self.t0)
        let alerts = [Self.alert("a", "x"), edit]
        #expect(SentAlerts.merge(alerts: alerts, deliveries: [], feedback: []) == [Self.alert("a", "x")])
        #expect(edit.deliveryLogType == AlertRecord.messageUpdateLogType)
        let sent = SentAlerts.merge(
            alerts: alerts,
            deliveries: [
                Self.delivery("a", "x"), Self.delivery("u", "x", type: edit.deliveryLogType),
                Self.delivery("v", "x", type: AlertRecord.messageUpdateLogType),
            ],
            feedback: [])
        #expect(sent.map(\.alertId) == ["a"])
    }
}
