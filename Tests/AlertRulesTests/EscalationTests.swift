import AlertRules
import Contracts
import Testing

/// Response SLAs and escalation chains in the engine (issue 24, item 4), with event time as the
/// clock: an episode nobody acknowledges escalates at its due time to the chain's first step, then
/// the next, up to its cap; acknowledge, take, snooze, resolve or the episode's end stop it; the
/// clocks survive the changelog encoding; the rules file's `sla` reports every problem.
@Suite struct EscalationTests {
    typealias T = TestSupport

    static let yaml = """
        version: 1
        rules:
          - name: at-risk
            type: customer_at_risk
            when: {zone_in: [at_risk, critical]}
            severity: high
            severity_by_zone: {critical: critical}
        routes:
          - destination: team
        destinations:
          team:
            business_hours: {timezone: America/New_York}
          managers: {}
          vp: {}
        sla:
          critical:
            respond_within: 4h
            escalate_to:
              - destinations: [managers]
                mentions: [U0MANAGER]
              - destinations: [vp, managers]
                mentions: [U0VP]
            max_escalations: 3
          high:
            escalate_to:
              - destinations: [managers]
        """

    static func engine(_ text: String = yaml) throws -> RulesEngine {
        RulesEngine(config: try RulesConfig.parse(yaml: text, file: "rules.yaml"))
    }

    static func ms(_ text: String) -> Int64 { T.time(text).millisecondsSinceEpoch }

    /// Evaluates `record` as the evaluator does: raise, then start the SLA clocks of what was sent.
    static func feed(_ engine: RulesEngine, _ record: ScoreRecord, _ state: inout AccountAlertState) -> [AlertRecord] {
        let alerts = engine.evaluate(record, state: &state)
        engine.armEscalations(for: alerts, state: &state)
        return alerts
    }

    static func click(_ kind: AlertActionKind, on alert: AlertRecord, id: String) -> AlertActionRecord {
        AlertActionRecord(
            actionId: id, kind: kind, accountId: alert.accountId, alertId: alert.alertId, rule: alert.rule,
            destination: alert.destination, by: "U0CLICK", at: alert.raisedAt,
            until: kind == .snooze
                ? Timestamp(millisecondsSinceEpoch: alert.raisedAt.millisecondsSinceEpoch + 86_400_000)
                : nil,
            outcome: kind == .resolve ? .resolved : nil, source: .slack)
    }

    // Monday 2026-11-16 09:00 in New York: critical, due at 13:00 (4 business hours).
    static let opened = "2026-11-16T14:00:00Z"

    @Test func notAcknowledgedEscalatesAtItsDueTimeAlongTheChainUpToItsCap() throws {
        let engine = try Self.engine()
        var state = AccountAlertState()
        let first = Self.feed(engine, T.record(at: Self.opened, score: 30), &state)
        #expect(first.map(\.destination) == ["team"] && first.first?.severity == .critical)
        #expect(state.nextEscalationDue == T.time("2026-11-16T18:00:00Z"))
        #expect(engine.dueEscalations(accountId: "acme", at: Self.ms("2026-11-16T17:59:59Z"), state: &state).isEmpty)

        let step1 = engine.dueEscalations(accountId: "acme", at: Self.ms("2026-11-16T18:00:00Z"), state: &state)
        #expect(step1.map(\.destination) == ["managers"])
        let e1 = try #require(step1.first)
        #expect(e1.escalation?.step == 1 && e1.escalation?.of == 3 && e1.escalation?.mentions == ["U0MANAGER"])
        #expect(e1.escalation?.alertId == first.first?.alertId && e1.mention == "U0MANAGER")
        #expect(e1.raisedAt == T.time("2026-11-16T18:00:00Z") && e1.type == .customerAtRisk && e1.rule == "at-risk")
        #expect(e1.alertId != first.first?.alertId)
        // Checked again at the same time: nothing more.
        #expect(engine.dueEscalations(accountId: "acme", at: Self.ms("2026-11-16T18:00:00Z"), state: &state).isEmpty)

        // Step 2 four business hours later (17:00 New York), to both of its destinations.
        #expect(state.nextEscalationDue == T.time("2026-11-16T22:00:00Z"))
        let step2 = engine.dueEscalations(accountId: "acme", at: Self.ms("2026-11-16T22:00:00Z"), state: &state)
        #expect(step2.map(\.destination) == ["vp", "managers"] && step2.allSatisfy { $0.escalation?.step == 2 })
        #expect(Set(step2.map(\.alertId)).count == 1 && step2.first?.alertId != e1.alertId)

        // Step 3, past the chain's end: its last step again, the next business morning; then the cap.
        let step3 = engine.dueEscalations(accountId: "acme", at: Self.ms("2026-11-17T18:00:00Z"), state: &state)
        #expect(step3.map(\.destination) == ["vp", "managers"] && step3.first?.escalation?.step == 3)
        #expect(state.nextEscalationDue == nil)
        #expect(engine.dueEscalations(accountId: "acme", at: Self.ms("2026-12-31T00:00:00Z"), state: &state).isEmpty)
    }

    @Test(arguments: [AlertActionKind.acknowledge, .take, .snooze, .resolve])
    func answeredBeforeItsDueTimeNothingEscalates(_ kind: AlertActionKind) throws {
        let engine = try Self.engine()
        var state = AccountAlertState()
        let alert = try #require(Self.feed(engine, T.record(at: Self.opened, score: 30), &state).first)
        #expect(engine.apply(Self.click(kind, on: alert, id: "c1"), to: &state) == .applied)
        #expect(state.nextEscalationDue == nil)
        #expect(engine.dueEscalations(accountId: "acme", at: Self.ms("2026-12-31T00:00:00Z"), state: &state).isEmpty)
        // A worse score later in the same episode does not start the clock again.
        _ = Self.feed(engine, T.record(at: "2026-11-16T15:00:00Z", score: 10), &state)
        #expect(state.nextEscalationDue == nil)
    }

    @Test func acknowledgingAnEscalationStopsTheRest() throws {
        let engine = try Self.engine()
        var state = AccountAlertState()
        _ = Self.feed(engine, T.record(at: Self.opened, score: 30), &state)
        let escalation = try #require(
            engine.dueEscalations(accountId: "acme", at: Self.ms("2026-11-16T18:00:00Z"), state: &state).first)
        #expect(engine.apply(Self.click(.acknowledge, on: escalation, id: "c1"), to: &state) == .applied)
        #expect(state.actions.lifecycles.first?.acknowledgedBy == "U0CLICK")
        #expect(engine.dueEscalations(accountId: "acme", at: Self.ms("2026-12-31T00:00:00Z"), state: &state).isEmpty)
    }

    @Test func anEpisodeThatEndsBeforeItsDueTimeDoesNotEscalate() throws {
        let engine = try Self.engine()
        var state = AccountAlertState()
        _ = Self.feed(engine, T.record(at: Self.opened, score: 30), &state)
        _ = Self.feed(engine, T.record(at: "2026-11-16T16:00:00Z", score: 85), &state)
        #expect(state.nextEscalationDue == nil)
        #expect(engine.dueEscalations(accountId: "acme", at: Self.ms("2026-12-31T00:00:00Z"), state: &state).isEmpty)
    }

    @Test func theDefaultResponseTimeAndAWorseAlertThatIsDueSooner() throws {
        let engine = try Self.engine()
        var state = AccountAlertState()
        // High, no respond_within: 24 business hours, Monday 09:00 -> Wednesday 17:00 in New York.
        _ = Self.feed(engine, T.record(at: Self.opened, score: 60), &state)
        #expect(state.nextEscalationDue == T.time("2026-11-18T22:00:00Z"))
        // The episode turns critical at 10:00: its clock restarts at 4 business hours, due 14:00.
        _ = Self.feed(engine, T.record(at: "2026-11-16T15:00:00Z", score: 30), &state)
        #expect(state.nextEscalationDue == T.time("2026-11-16T19:00:00Z"))
        let escalation = engine.dueEscalations(accountId: "acme", at: Self.ms("2026-11-16T19:00:00Z"), state: &state)
        #expect(escalation.first?.severity == .critical && escalation.first?.escalation?.of == 3)
    }

    @Test func withoutAnSLANothingEscalates() throws {
        let engine = try T.engine(T.rules(T.atRiskRule))
        var state = AccountAlertState()
        #expect(Self.feed(engine, T.record(at: Self.opened, score: 30), &state).count == 1)
        #expect(state.nextEscalationDue == nil)
    }

    @Test func theClocksSurviveTheChangelogEncoding() throws {
        let engine = try Self.engine()
        var state = AccountAlertState()
        _ = Self.feed(engine, T.record(at: Self.opened, score: 30), &state)
        var restored = try AccountAlertState(decoding: try state.encoded())
        #expect(restored == state && restored.nextEscalationDue == T.time("2026-11-16T18:00:00Z"))
        // One step raised, then a restart: the next steps come as they would have.
        _ = engine.dueEscalations(accountId: "acme", at: Self.ms("2026-11-16T18:00:00Z"), state: &state)
        restored = try AccountAlertState(decoding: try state.encoded())
        #expect(restored == state)
        let later = Self.ms("2026-11-17T18:00:00Z")
        let fromRestored = engine.dueEscalations(accountId: "acme", at: later, state: &restored)
        let fromLive = engine.dueEscalations(accountId: "acme", at: later, state: &state)
        #expect(fromRestored == fromLive && fromLive.map(\.escalation?.step) == [2, 2, 3, 3])
        #expect(try restored.encoded() == state.encoded())
    }

    @Test func everyProblemOfTheSLAIsReportedWithItsLine() {
        let text = """
            version: 1
            rules:
              - name: at-risk
                type: customer_at_risk
                when: {zone_in: [at_risk]}
                severity: high
            routes:
              - destination: team
            destinations:
              team:
                business_hours: {timezone: Mars/Olympus}
              late:
                business_hours: {from: "17:00", to: "09:00"}
            sla:
              critical:
                respond_within: 0
                escalate_to:
                  - destinations: [nowhere]
                  - destinations: [team]
                    mentions: ["<!channel>"]
              high:
                escalate_to: []
                max_escalations: 99
              medium:
                respond_within: none
                escalate_to:
                  - destinations: [team]
              low:
                escalate_to:
                  - destinations: [team]
            """
        let problems = RulesConfig.check(yaml: text, file: "rules.yaml").problems.map { "\($0)" }
        let expected = [
            ("11", "unknown IANA time zone"), ("13", "must be after from"), ("16", "must be longer than 0"),
            ("18", "\"nowhere\" is not declared"), ("20", "Slack user id"), ("22", "list at least one step"),
            ("23", "max_escalations"), ("27", "nothing escalates"), ("29", "no default response time"),
        ]
        #expect(problems.count == expected.count, "\(problems)")
        for (line, text) in expected {
            #expect(problems.contains { $0.contains(":\(line):") && $0.contains(text) }, "line \(line): \(problems)")
        }
    }

    /// `direct_message_owner_via` (issue 24): a step may also message the account's owner directly
    /// through a Slack app destination; the message is addressed to the owner of the episode's
    /// first alert, never a thread reply, and a click on it answers the episode.
    @Test func aStepMayMessageTheOwnerDirectly() throws {
        let yaml = Self.yaml.replacingOccurrences(
            of: "      - destinations: [vp, managers]\n        mentions: [U0VP]",
            with: "      - direct_message_owner_via: app\n        mentions: [U0VP]"
        ).replacingOccurrences(of: "  vp: {}", with: "  vp: {}\n  app: {}")
        #expect(yaml.contains("direct_message_owner_via: app"), "the fixture changed: \(yaml)")
        let engine = try Self.engine(yaml)
        var state = AccountAlertState()
        let first = engine.threaded(Self.feed(engine, T.record(at: Self.opened, score: 30), &state), state: &state)
        let opening = try #require(first.first)
        _ = engine.dueEscalations(accountId: "acme", at: Self.ms("2026-11-16T18:00:00Z"), state: &state)
        // Step 2, four business hours later: the owner's direct message only (no channel listed).
        let step2 = engine.threaded(
            engine.dueEscalations(accountId: "acme", at: Self.ms("2026-11-16T22:00:00Z"), state: &state),
            state: &state)
        let direct = try #require(step2.first)
        #expect(step2.count == 1 && direct.destination == "app" && direct.escalation?.directToOwner == true)
        #expect(direct.directTo == opening.score?.profile.owner && direct.directTo != nil)
        #expect(direct.thread == nil && direct.score == opening.score)
        // A click in the direct message answers the episode: no third escalation.
        #expect(engine.apply(Self.click(.acknowledge, on: direct, id: "dm-ack"), to: &state) == .applied)
        #expect(engine.dueEscalations(accountId: "acme", at: Self.ms("2026-11-20T22:00:00Z"), state: &state).isEmpty)

        let problems = RulesConfig.check(
            yaml: yaml.replacingOccurrences(
                of: "direct_message_owner_via: app", with: "direct_message_owner_via: nowhere"),
            file: "rules.yaml"
        ).problems.map { "\($0)" }
        #expect(problems.count == 1 && problems[0].contains("\"nowhere\" is not declared"), "\(problems)")
    }
}
