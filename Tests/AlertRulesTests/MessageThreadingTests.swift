import AlertRules
import Contracts
import Testing

/// Update in place (issue 24): an episode's first alert at a destination is its opening message,
/// later alerts there reply in its thread, and actions and the recovery become update records
/// that edit it, kept across restarts in the state.
@Suite struct MessageThreadingTests {
    typealias T = TestSupport

    static let rules =
        T.atRiskRule + """

              - name: back
                type: recovered
                when: {episode_ended: at-risk}
                severity: low
            """
    static let engine: RulesEngine = try! T.engine(T.rules(rules))

    /// Feeds `record` as the evaluator does: alerts threaded, then the edits of closed episodes.
    static func feed(_ record: ScoreRecord, _ state: inout AccountAlertState) -> (
        alerts: [AlertRecord], edits: [AlertRecord]
    ) {
        let alerts = engine.threaded(engine.evaluate(record, state: &state), state: &state)
        return (alerts, engine.recoveryUpdates(state: &state, at: record.validAt))
    }

    static func click(_ kind: AlertActionKind, on alert: AlertRecord, id: String, outcome: AlertOutcome? = nil)
        -> AlertActionRecord
    {
        AlertActionRecord(
            actionId: id, kind: kind, accountId: alert.accountId, alertId: alert.alertId, rule: alert.rule,
            destination: alert.destination, by: "U0DANA", at: T.time("2026-11-01T12:05:00Z"),
            until: kind == .snooze ? T.time("2026-11-02T12:05:00Z") : nil, outcome: outcome, source: .slack)
    }

    @Test func theFirstAlertOpensTheThreadAndTheRepeatRepliesInIt() throws {
        var state = AccountAlertState()
        let first = Self.feed(T.record(at: "2026-11-01T12:00:00Z", score: 60), &state)
        let opening = try #require(first.alerts.first)
        #expect(opening.thread == nil, "the opening message is a top-level post")
        #expect(first.edits.isEmpty)
        let worse = Self.feed(T.record(at: "2026-11-01T13:00:00Z", score: 30), &state)
        #expect(worse.alerts.count == 1)
        #expect(worse.alerts.first?.thread == opening.alertId, "the repeat names the opening message")
        #expect(worse.alerts.first?.alertId != opening.alertId)
        // Restored from the changelog, the state still knows its opening message.
        var restored = try AccountAlertState(decoding: try state.encoded())
        #expect(restored == state)
        let recovered = Self.feed(T.record(at: "2026-11-02T12:00:00Z", score: 80), &restored)
        #expect(recovered.alerts.map(\.type) == [.recovered])
        #expect(recovered.alerts.first?.thread == opening.alertId, "the recovery replies in the thread")
        let edit = try #require(recovered.edits.first)
        #expect(recovered.edits.count == 1)
        #expect(edit.update == MessageUpdate(state: .recovered, at: T.time("2026-11-02T12:00:00Z"), score: 80))
        #expect(edit.thread == opening.alertId && edit.destination == opening.destination)
        #expect(edit.score == opening.score, "the edit shows the facts of the opening message")
        #expect(restored.isEmpty || Self.feed(T.record(at: "2026-11-03T12:00:00Z", score: 81), &restored).edits.isEmpty)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var kind: AlertActionKind
        var state: MessageUpdate.State
        var outcome: AlertOutcome?
        var testDescription: String { state.rawValue }
    }

    static let cases: [Case] = [
        Case(kind: .acknowledge, state: .acknowledged),
        Case(kind: .take, state: .taken),
        Case(kind: .snooze, state: .snoozed),
        Case(kind: .resolve, state: .resolved, outcome: .falsePositive),
    ]

    @Test(arguments: cases) func anActionEditsTheOpeningMessage(_ c: Case) throws {
        var state = AccountAlertState()
        let opening = try #require(Self.feed(T.record(at: "2026-11-01T12:00:00Z", score: 60), &state).alerts.first)
        let action = Self.click(c.kind, on: opening, id: "click-\(c.state)", outcome: c.outcome)
        #expect(Self.engine.apply(action, to: &state) == .applied)
        let edits = Self.engine.actionUpdates(for: action, state: &state)
        let edit = try #require(edits.first)
        #expect(edits.count == 1)
        #expect(edit.update?.state == c.state && edit.update?.by == "U0DANA" && edit.update?.outcome == c.outcome)
        #expect(edit.update?.until == action.until)
        #expect(edit.thread == opening.alertId)
        #expect(edit.alertId == AlertId.make([opening.alertId, "update", c.state.rawValue, action.actionId]))
        // A resolution closes the message: the recovery later edits nothing.
        let later = Self.feed(T.record(at: "2026-11-02T12:00:00Z", score: 80), &state)
        #expect(later.edits.isEmpty == (c.kind == .resolve), "recovery edits: \(later.edits.count)")
    }

    @Test func silencesAndClicksOnNoOpenEpisodeEditNothing() throws {
        var state = AccountAlertState()
        let opening = try #require(Self.feed(T.record(at: "2026-11-01T12:00:00Z", score: 60), &state).alerts.first)
        var stale = opening
        stale.alertId = "0000000000000000"
        let click = Self.click(.acknowledge, on: stale, id: "click-stale")
        #expect(Self.engine.apply(click, to: &state) == .noEpisode)
        #expect(Self.engine.actionUpdates(for: click, state: &state).isEmpty)
        let silence = AlertActionRecord(
            actionId: "s-1", kind: .silence, accountId: "acme", by: "dana", at: T.time("2026-11-01T12:00:00Z"),
            until: T.time("2026-11-02T12:00:00Z"), silenceId: "s1", matchers: SilenceMatchers(account: "acme"),
            reason: "maintenance", source: .fleetAdmin)
        #expect(Self.engine.apply(silence, to: &state) == .applied)
        #expect(Self.engine.actionUpdates(for: silence, state: &state).isEmpty)
    }

    @Test func openingsAreBoundedPerAccount() throws {
        var state = AccountAlertState()
        let opening = try #require(Self.feed(T.record(at: "2026-11-01T12:00:00Z", score: 60), &state).alerts.first)
        // Many destinations of the same alert: only the first `maxOpeningsPerAccount` are tracked.
        let many = (0..<40).map { i -> AlertRecord in
            var a = opening
            a.destination = "d\(i)"
            return a
        }
        let threaded = Self.engine.threaded(many, state: &state)
        #expect(threaded.allSatisfy { $0.thread == nil })
        let recovered = Self.feed(T.record(at: "2026-11-02T12:00:00Z", score: 80), &state)
        #expect(recovered.edits.count == RulesEngine.maxOpeningsPerAccount)
    }

    /// An escalation shows the facts of the alert nobody answered and, where it goes to the
    /// opening message's channel, replies in its thread (shown in the channel: `reply_broadcast`).
    @Test func anEscalationCarriesTheOpeningsFactsAndRepliesWhereItCan() throws {
        let yaml = EscalationTests.yaml.replacingOccurrences(
            of: "- destinations: [managers]", with: "- destinations: [team, managers]")
        let engine = try EscalationTests.engine(yaml)
        var state = AccountAlertState()
        let first = engine.threaded(
            EscalationTests.feed(engine, T.record(at: EscalationTests.opened, score: 30), &state), state: &state)
        let opening = try #require(first.first)
        let raised = engine.dueEscalations(
            accountId: "acme", at: EscalationTests.ms("2026-11-16T18:00:00Z"), state: &state)
        #expect(raised.map(\.destination).sorted() == ["managers", "team"])
        #expect(raised.allSatisfy { $0.score == nil }, "the engine raises them without facts")
        let escalations = engine.threaded(raised, state: &state)
        #expect(escalations.allSatisfy { $0.score == opening.score && $0.escalation != nil })
        #expect(escalations.first { $0.destination == "team" }?.thread == opening.alertId)
        #expect(escalations.first { $0.destination == "managers" }?.thread == nil, "no message there to reply to")
    }
}
