import AlertRules
import Contracts
import Testing

/// What people did with an alert, applied to its episode: owner carried, snooze, resolve,
/// silences, each action once, and the memory on the changelog.
@Suite struct AlertActionsTests {
    typealias T = TestSupport

    static let engine: RulesEngine = try! T.engine(T.rules(T.atRiskRule))

    /// The at-risk alert of an account entering at_risk, and the state after it.
    static func opened() -> (alert: AlertRecord, state: AccountAlertState) {
        var run = Run(engine)
        let alerts = run.feed(T.record(at: "2026-11-01T12:00:00Z", score: 60))
        return (alerts[0], run.state)
    }

    /// The repeat of the same episode when the account turns critical (a worse severity).
    static let worse = T.record(at: "2026-11-01T13:00:00Z", score: 30)

    static func action(
        _ kind: AlertActionKind, on alert: AlertRecord, id: String = "click-1", by: String = "U0DANA",
        until: String? = nil, outcome: AlertOutcome? = nil
    ) -> AlertActionRecord {
        AlertActionRecord(
            actionId: id, kind: kind, accountId: alert.accountId, alertId: alert.alertId, rule: alert.rule,
            destination: alert.destination, by: by, at: T.time("2026-11-01T12:05:00Z"), until: until.map(T.time),
            outcome: outcome, source: .slack)
    }

    /// The verdicts on the alerts of the next record after `action`.
    static func next(after action: (AlertRecord) -> AlertActionRecord) -> (LifecycleVerdict?, ActionApplication) {
        var (alert, state) = opened()
        let applied = engine.apply(action(alert), to: &state)
        let repeats = engine.evaluate(worse, state: &state)
        return (repeats.first.map { engine.lifecycleVerdict(for: $0, state: &state, everyAccount: nil) }, applied)
    }

    @Test func withoutActionsTheRepeatIsSent() throws {
        var (_, state) = Self.opened()
        let repeats = Self.engine.evaluate(Self.worse, state: &state)
        #expect(repeats.count == 1)
        let verdict = Self.engine.lifecycleVerdict(for: repeats[0], state: &state, everyAccount: nil)
        #expect(verdict == .send(repeats[0]))
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var kind: AlertActionKind
        var until: String?
        var outcome: AlertOutcome?
        /// nil: sent; else the reason.
        var suppressed: String?
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "acknowledged: still sent", kind: .acknowledge),
        Case(name: "taken: sent, mentioning the owner", kind: .take),
        Case(name: "snoozed a day", kind: .snooze, until: "2026-11-02T12:05:00Z", suppressed: "snoozed"),
        Case(name: "snooze over before the repeat", kind: .snooze, until: "2026-11-01T12:30:00Z"),
        Case(name: "resolved: false positive", kind: .resolve, outcome: .falsePositive, suppressed: "resolved"),
        Case(name: "resolved: escalated to churn", kind: .resolve, outcome: .escalatedToChurn, suppressed: "resolved"),
    ]

    @Test(arguments: cases) func theNextAlertOfTheEpisode(_ c: Case) throws {
        let (verdict, applied) = Self.next { Self.action(c.kind, on: $0, until: c.until, outcome: c.outcome) }
        #expect(applied == .applied)
        switch try #require(verdict) {
        case .send(let alert):
            #expect(c.suppressed == nil, "sent, expected \(c.suppressed ?? "")")
            #expect((alert.mention == "U0DANA") == (c.kind == .take), "owner: \(alert.mention ?? "none")")
        case .suppressed(let reason):
            #expect(reason == c.suppressed)
        }
    }

    @Test func aClickIsAppliedOnceAndAnOldEpisodesClickChangesNothing() {
        var (alert, state) = Self.opened()
        let take = Self.action(.take, on: alert)
        #expect(Self.engine.apply(take, to: &state) == .applied)
        let afterFirst = state
        var other = take
        other.by = "U0OTHER"
        #expect(Self.engine.apply(other, to: &state) == .duplicate, "same action id: not applied again")
        #expect(state == afterFirst)
        var stale = alert
        stale.alertId = "0000000000000000"
        #expect(
            Self.engine.apply(Self.action(.resolve, on: stale, id: "click-2", outcome: .resolved), to: &state)
                == .noEpisode)
        var broken = Self.action(.snooze, on: alert, id: "click-3")
        broken.until = nil
        #expect(Self.engine.apply(broken, to: &state) == .refused("snooze without until"))
        alert.rule = "no-such-rule"
        #expect(Self.engine.apply(Self.action(.acknowledge, on: alert, id: "click-4"), to: &state) == .noEpisode)
    }

    @Test func silencesMatchUntilTheyEndOrExpire() throws {
        var (alert, state) = Self.opened()
        func silence(_ id: String, _ matchers: SilenceMatchers, until: String) -> AlertActionRecord {
            AlertActionRecord(
                actionId: "a-\(id)", kind: .silence, accountId: matchers.account ?? "*", by: "dana",
                at: T.time("2026-11-01T12:00:00Z"), until: T.time(until), silenceId: id, matchers: matchers,
                reason: "maintenance", source: .fleetAdmin)
        }
        var every = AccountAlertState()
        #expect(
            Self.engine.apply(
                silence("s1", SilenceMatchers(rule: "at-risk", tier: .smb), until: "2026-11-08T00:00:00Z"), to: &every)
                == .applied)
        alert.raisedAt = T.time("2026-11-01T13:00:00Z")
        #expect(
            Self.engine.lifecycleVerdict(for: alert, state: &state, everyAccount: every) == .send(alert),
            "tier does not match")
        #expect(
            Self.engine.apply(
                silence("s2", SilenceMatchers(account: "acme"), until: "2026-11-02T00:00:00Z"), to: &state) == .applied)
        #expect(
            Self.engine.lifecycleVerdict(for: alert, state: &state, everyAccount: every)
                == .suppressed(reason: "silenced"))
        var later = alert
        later.raisedAt = T.time("2026-11-02T00:00:00Z")
        #expect(Self.engine.lifecycleVerdict(for: later, state: &state, everyAccount: every) == .send(later), "ended")
        #expect(state.actions.silences.isEmpty, "an ended silence is dropped")
        #expect(
            Self.engine.apply(
                silence("s3", SilenceMatchers(type: .customerAtRisk), until: "2026-11-08T00:00:00Z"), to: &every)
                == .applied)
        #expect(
            Self.engine.lifecycleVerdict(for: alert, state: &state, everyAccount: every)
                == .suppressed(reason: "silenced"))
        let expire = AlertActionRecord(
            actionId: "x-s3", kind: .expireSilence, accountId: "*", by: "dana", at: T.time("2026-11-01T12:30:00Z"),
            silenceId: "s3", source: .fleetAdmin)
        #expect(Self.engine.apply(expire, to: &every) == .applied)
        #expect(Self.engine.lifecycleVerdict(for: alert, state: &state, everyAccount: every) == .send(alert), "expired")
    }

    @Test func theMemoryIsOnTheChangelogAndBounded() throws {
        var (alert, state) = Self.opened()
        _ = Self.engine.apply(Self.action(.take, on: alert), to: &state)
        for k in 0..<100 { _ = Self.engine.apply(Self.action(.acknowledge, on: alert, id: "ack-\(k)"), to: &state) }
        #expect(state.actions.actionIds.count == AlertActionMemory.maxActionIds)
        #expect(!state.actions.hasApplied("click-1") && state.actions.hasApplied("ack-99"))
        let bytes = try state.encoded()
        #expect(bytes.first == AccountAlertState.encodingVersion)
        let restored = try AccountAlertState(decoding: bytes)
        #expect(restored == state)
        #expect(restored.actions.lifecycles.first?.owner == "U0DANA")
        alert.raisedAt = T.time("2026-11-01T12:30:00Z")
        #expect(!state.isEmpty)
    }
}
