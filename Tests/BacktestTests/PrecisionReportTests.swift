import Backtest
import Contracts
import HealthModel
import Testing

@Suite struct PrecisionReportTests {
    static let t0 = Timestamp(year: 2026, month: 10, day: 1, hour: 12)

    static func alert(
        _ id: String, rule: String, account: String, day: Int64, destination: String = "cs",
        type: AlertType = .customerAtRisk
    ) -> AlertRecord {
        AlertRecord(
            alertId: id, type: type, severity: .high, priority: Priority(level: 4)!, destination: destination,
            accountId: account,
            raisedAt: t0.adding(days: day), rule: rule)
    }

    static func vote(_ id: String, _ verdict: FeedbackVerdict, rule: String, day: Int64, hour: Int64 = 0)
        -> FeedbackRecord
    {
        FeedbackRecord(
            alertId: id, rule: rule, destination: "cs", verdict: verdict,
            recordedAt: t0.adding(days: day).adding(seconds: hour * 3600))
    }

    @Test func perRuleFiguresAndTheThreeCategories() throws {
        let alerts = [
            // at-risk: a1 useful and renewed; a2 useful, churned; a3 not useful, no churn; a4 unrated.
            Self.alert("a1", rule: "at-risk", account: "acme", day: 0),
            // the same alert, another channel
            Self.alert("a1", rule: "at-risk", account: "acme", day: 0, destination: "team"),
            Self.alert("a2", rule: "at-risk", account: "globex", day: 1),
            Self.alert("a3", rule: "at-risk", account: "initech", day: 2),
            Self.alert("a4", rule: "at-risk", account: "umbrella", day: 3),
            // upsell: not useful, but the account churned later.
            Self.alert("u1", rule: "upsell", account: "hooli", day: 4, type: .upsellOpportunity),
            // Outside the period.
            Self.alert("old", rule: "at-risk", account: "acme", day: -40),
        ]
        let feedback = [
            Self.vote("a1", .notUseful, rule: "at-risk", day: 0, hour: 1),
            Self.vote("a1", .useful, rule: "at-risk", day: 0, hour: 2),  // a change of mind: the latest counts
            Self.vote("a2", .useful, rule: "at-risk", day: 1),
            Self.vote("a3", .notUseful, rule: "at-risk", day: 2),
            Self.vote("u1", .notUseful, rule: "upsell", day: 4),
            Self.vote("old", .useful, rule: "at-risk", day: -39),
        ]
        let outcomes = [
            AccountOutcome(accountId: "acme", kind: .renewed, at: Self.t0.adding(days: 10)),
            AccountOutcome(accountId: "globex", kind: .churned, at: Self.t0.adding(days: 20)),
            AccountOutcome(accountId: "hooli", kind: .churned, at: Self.t0.adding(days: 25)),
            // before the alert: not "after"
            AccountOutcome(accountId: "initech", kind: .churned, at: Self.t0.adding(days: -5)),
        ]
        let report = PrecisionReport(
            alerts: alerts, feedback: feedback, outcomes: outcomes,
            since: Self.t0.adding(days: -30), until: Self.t0.adding(days: 30), minRated: 1)
        #expect(report.rules.map(\.rule) == ["at-risk", "upsell"])
        let r = report.rules[0]
        #expect(r.alerts == 4 && r.useful == 2 && r.notUseful == 1 && r.unrated == 1)
        #expect(r.precision == 2.0 / 3.0)
        #expect(r.churnedAfter == 1 && r.renewedAfter == 1)
        #expect(r.escalatedToChurn == 1 && r.truePositivesResolved == 1 && r.falsePositives == 1)
        let u = report.rules[1]
        #expect(u.alerts == 1 && u.notUseful == 1 && u.precision == 0)
        #expect(u.escalatedToChurn == 1 && u.notUsefulButChurned == 1 && u.falsePositives == 0)
        #expect(report.unmatchedFeedback == 1 && report.feedbackCount == 5)
        #expect(u.suggestion?.hasPrefix("Mostly marked not useful (1 of 1, precision 0%)") == true)
        #expect(
            u.suggestion?.contains("But 1 of the alerts marked not useful were followed by the account's churn") == true
        )
        #expect(r.suggestion == nil, "2 of 3 useful: no call for a change")
        let text = report.lines.joined(separator: "\n")
        #expect(text.contains("suggestions") && text.contains("upsell: Mostly marked not useful"))
    }

    /// Two dispatcher replicas may both accept one link clicked twice within milliseconds: two
    /// records with the same link id are one click, counted once.
    @Test func recordsOfTheSameLinkAreOneClick() {
        let alerts = [Self.alert("a1", rule: "at-risk", account: "acme", day: 0)]
        var first = Self.vote("a1", .useful, rule: "at-risk", day: 0)
        first.linkId = "link-a1-useful"
        var duplicate = first
        duplicate.recordedAt = first.recordedAt.adding(milliseconds: 4)
        var older = Self.vote("a1", .notUseful, rule: "at-risk", day: 0)  // written before links had an id
        older.recordedAt = first.recordedAt.adding(milliseconds: -60_000)
        let report = PrecisionReport(
            alerts: alerts, feedback: [older, first, duplicate], outcomes: [],
            since: Self.t0.adding(days: -1), until: Self.t0.adding(days: 1), minRated: 1)
        #expect(report.feedbackCount == 2)
        #expect(report.rules.first?.useful == 1 && report.rules.first?.notUseful == 0)
        let once = PrecisionReport(
            alerts: alerts, feedback: [older, first], outcomes: [],
            since: Self.t0.adding(days: -1), until: Self.t0.adding(days: 1), minRated: 1)
        #expect(once.rules == report.rules && once.feedbackCount == report.feedbackCount)
    }

    @Test func noSuggestionBeforeEnoughVerdicts() {
        let alerts = (0..<4).map { Self.alert("n\($0)", rule: "noisy", account: "acct-\($0)", day: Int64($0)) }
        let feedback = (0..<4).map { Self.vote("n\($0)", .notUseful, rule: "noisy", day: Int64($0)) }
        let few = PrecisionReport(
            alerts: alerts, feedback: feedback, outcomes: [], since: Self.t0, until: Self.t0.adding(days: 10),
            minRated: 5)
        #expect(few.rules[0].suggestion == nil)
        let enough = PrecisionReport(
            alerts: alerts, feedback: feedback, outcomes: [], since: Self.t0, until: Self.t0.adding(days: 10),
            minRated: 4)
        #expect(enough.rules[0].falsePositives == 4)
        #expect(enough.rules[0].suggestion?.contains("4 of 4") == true)
    }

    /// Someone's resolution (issue 24: the Resolve buttons or `alert-actions`) classifies its alert
    /// with the outcome they chose, over the feedback verdict; a churn after the alert still wins; the
    /// latest resolution counts; other actions and resolutions of unknown alerts are not read.
    @Test(arguments: [
        // (verdict, outcomes of the resolutions in order, churned after) -> (false+, true+, to churn)
        (FeedbackVerdict?.none, [AlertOutcome.falsePositive], false, [1, 0, 0]),
        (.useful, [.falsePositive], false, [1, 0, 0]),
        (.notUseful, [.resolved], false, [0, 1, 0]),
        (nil, [.escalatedToChurn], false, [0, 0, 1]),
        (nil, [.resolved, .falsePositive], false, [1, 0, 0]),
        (.notUseful, [.falsePositive], true, [0, 0, 1]),
        (.useful, [], false, [0, 1, 0]),
    ])
    func resolutionsClassifyTheirAlerts(
        verdict: FeedbackVerdict?, outcomes: [AlertOutcome], churned: Bool, expected: [Int]
    ) {
        let alert = Self.alert("a1", rule: "at-risk", account: "acme", day: 0)
        var actions = outcomes.enumerated().map { i, outcome in
            AlertActionRecord(
                actionId: "r\(i)", kind: .resolve, accountId: "acme", alertId: "a1", rule: "at-risk", by: "U0DANA",
                at: Self.t0.adding(seconds: Int64(i + 1) * 60), outcome: outcome, source: .slack)
        }
        actions.append(
            AlertActionRecord(
                actionId: "ack", kind: .acknowledge, accountId: "acme", alertId: "a1", rule: "at-risk", by: "U0DANA",
                at: Self.t0.adding(seconds: 3600), source: .slack))
        actions.append(
            AlertActionRecord(
                actionId: "other", kind: .resolve, accountId: "acme", alertId: "zz", rule: "at-risk", by: "U0DANA",
                at: Self.t0.adding(seconds: 60), outcome: .escalatedToChurn, source: .slack))
        let report = PrecisionReport(
            alerts: [alert], feedback: verdict.map { [Self.vote("a1", $0, rule: "at-risk", day: 0)] } ?? [],
            outcomes: churned ? [AccountOutcome(accountId: "acme", kind: .churned, at: Self.t0.adding(days: 5))] : [],
            resolutions: actions, since: Self.t0.adding(days: -1), until: Self.t0.adding(days: 30))
        let r = report.rules[0]
        #expect([r.falsePositives, r.truePositivesResolved, r.escalatedToChurn] == expected)
        #expect(r.resolvedByPeople == (outcomes.isEmpty ? 0 : 1))
        #expect(report.lines[1].hasSuffix(outcomes.isEmpty ? "outside the period)" : ", 1 resolved with an outcome"))
    }

    @Test func digestsAreNotCounted() {
        var digest = Self.alert("d1", rule: "digest", account: "*", day: 0)
        digest.type = .digest
        let report = PrecisionReport(
            alerts: [digest], feedback: [], outcomes: [], since: Self.t0, until: Self.t0.adding(days: 1))
        #expect(report.rules.isEmpty)
    }

    @Test func outcomesComeFromTheirEvents() throws {
        let event = try EventParser().parse(
            #"{"event_id":"e1","account_id":"acme","type":"account_churned","occurred_at":"2026-10-01T10:00:00Z"}"#)
        #expect(
            AccountOutcome(event: event)
                == AccountOutcome(
                    accountId: "acme", kind: .churned, at: Timestamp(year: 2026, month: 10, day: 1, hour: 10)))
        let login = try EventParser().parse(
            #"{"event_id":"e2","account_id":"acme","type":"login","occurred_at":"2026-10-01T10:00:00Z"}"#)
        #expect(AccountOutcome(event: login) == nil)
    }
}
