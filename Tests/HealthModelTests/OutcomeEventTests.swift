import Contracts
import Testing

@testable import HealthModel

/// `account_churned` and `account_renewed` are outcome events: known types, not product activity.
@Suite struct OutcomeEventTests {
    @Test func outcomeEventsParseAsKnownTypes() throws {
        let churned = try EventParser().parse(
            #"{"event_id":"e1","account_id":"acme","type":"account_churned","occurred_at":"2026-10-01T10:00:00Z","properties":{}}"#
        )
        #expect(churned.type == .accountChurned && churned.typeName == "account_churned")
        #expect(EventType(name: "account_renewed") == .accountRenewed)
        #expect(!EventType.accountChurned.isActivity && !EventType.accountRenewed.isActivity)
    }

    @Test func aChurnEventDoesNotEndASilence() {
        let scorer = HealthScorer()
        var state = scorer.makeState(accountId: "acme")
        var f = EventFactory(account: "acme")
        let start = Timestamp(year: 2026, month: 9, day: 1, hour: 10)
        for d in 0..<30 { _ = scorer.apply(f.make(.login, at: start.adding(days: Int64(d)), user: "u1"), to: &state) }
        let lastActive = state.lastActivityDay
        _ = scorer.apply(f.make(.accountChurned, at: start.adding(days: 44)), to: &state)
        #expect(state.lastActivityDay == lastActive, "a churn is not activity")
        let e = scorer.evaluation(of: &state)
        #expect(e.signals.contains { $0.code == SignalCode.inactivity })
        // A login would have ended it.
        _ = scorer.apply(f.make(.login, at: start.adding(days: 44).adding(seconds: 60), user: "u1"), to: &state)
        #expect(state.lastActivityDay > lastActive)
    }
}
