import Contracts

/// Response SLAs and escalation (issue 24): an episode's alert not acknowledged or taken within
/// its severity's SLA (`sla` in the rules file, counted in the business hours of the destination
/// it went to) raises an escalation alert to the chain's next step, again after each further SLA
/// period, at most `max_escalations` times. Acknowledge, take, snooze and resolve stop the clock,
/// and so does the episode's end. Pure: time comes in as values (the evaluator passes its
/// partition's event time, or live the wall clock), and the clocks live in `AccountAlertState`,
/// on the changelog.
extension RulesEngine {
    /// Starts the SLA clock of each episode whose alert was just sent (`sent`: the alerts of
    /// `state`'s account that passed `lifecycleVerdict`), unless one runs already or someone
    /// acknowledged the episode; drops the clocks and lifecycles of episodes no longer open. A more severe alert
    /// of an episode not escalated yet restarts its clock when that makes it due sooner.
    public func armEscalations(for sent: [AlertRecord], state: inout AccountAlertState) {
        state.escalations.removeAll { t in
            !state.episodes.contains { $0.ruleKey == t.ruleKey && $0.openedAt == t.openedAt }
        }
        // Lifecycles (kept from an episode's first alert on) live as long as their episode.
        state.actions.lifecycles.removeAll { life in
            !state.episodes.contains { $0.ruleKey == life.ruleKey && $0.openedAt == life.openedAt }
        }
        guard !config.sla.isEmpty else { return }
        for alert in sent where alert.escalation == nil && alert.type != .recovered {
            guard let sla = config.sla[alert.severity], let name = alert.rule,
                let index = config.rules.firstIndex(where: { $0.name == name }), index < compiled.count
            else { continue }
            let key = compiled[index].key
            guard let open = state.episodes.first(where: { $0.ruleKey == key }),
                !Self.answered(state.actions.lifecycles.first { $0.ruleKey == key && $0.openedAt == open.openedAt })
            else { continue }
            let hours = config.businessHours(of: alert.destination)
            guard let due = hours.due(from: alert.raisedAt.millisecondsSinceEpoch, adding: sla.respondWithinMs)
            else { continue }
            let timer = AccountAlertState.EscalationTimer(
                ruleKey: key, openedAt: open.openedAt, due: due, raised: 0, severity: alert.severity,
                priority: alert.priority, destination: alert.destination, alertId: alert.alertId)
            if let i = state.escalations.firstIndex(where: { $0.ruleKey == key && $0.openedAt == open.openedAt }) {
                let running = state.escalations[i]
                if running.raised == 0, alert.severity > running.severity, due < running.due {
                    state.escalations[i] = timer
                }
                continue
            }
            state.escalations.append(timer)
        }
    }

    /// The escalations of `state`'s account (`accountId`) due by `now` (ms), each step's alert to
    /// every destination of the step, raised at its due time; the clocks advanced, and those
    /// answered, ended or at their cap dropped. Several steps fall due at once only when nothing
    /// checked the clocks for longer than an SLA period (an evaluator down for days).
    public func dueEscalations(accountId: String, at now: Int64, state: inout AccountAlertState) -> [AlertRecord] {
        var breaches: [Priority] = []
        return dueEscalations(accountId: accountId, at: now, state: &state, breaches: &breaches)
    }

    /// `dueEscalations(accountId:at:state:)`, adding to `breaches` the priority of each episode whose
    /// response SLA passed unanswered by `now` for the first time (once per episode: its later
    /// escalations are not breaches again; a severity with `max_escalations: 0` breaches too).
    public func dueEscalations(
        accountId: String, at now: Int64, state: inout AccountAlertState, breaches: inout [Priority]
    ) -> [AlertRecord] {
        guard state.escalations.contains(where: { $0.due <= now }) else { return [] }
        var out: [AlertRecord] = []
        var kept: [AccountAlertState.EscalationTimer] = []
        for var t in state.escalations {
            guard t.due <= now else {
                kept.append(t)
                continue
            }
            guard state.episodes.contains(where: { $0.ruleKey == t.ruleKey && $0.openedAt == t.openedAt }),
                !Self.answered(state.actions.lifecycles.first { $0.ruleKey == t.ruleKey && $0.openedAt == t.openedAt }),
                let index = compiled.firstIndex(where: { $0.key == t.ruleKey }), index < config.rules.count,
                let sla = config.sla[t.severity]
            else { continue }
            if t.raised == 0 { breaches.append(t.priority) }
            guard sla.maxEscalations > 0 else { continue }
            let rule = config.rules[index]
            let hours = config.businessHours(of: t.destination)
            var ended = false
            while t.due <= now {
                guard Int(t.raised) < sla.maxEscalations, let step = sla.step(Int(t.raised)) else {
                    ended = true
                    break
                }
                let escalation = AlertEscalation(
                    step: Int(t.raised) + 1, of: sla.maxEscalations, dueAt: Timestamp(millisecondsSinceEpoch: t.due),
                    alertId: t.alertId, mentions: step.mentions)
                let id = Self.escalationId(
                    accountId: accountId, rule: rule, openedAt: t.openedAt, step: Int(t.raised))
                for destination in step.destinations {
                    out.append(
                        AlertRecord(
                            alertId: id, type: rule.type, severity: t.severity, priority: t.priority,
                            destination: destination, accountId: accountId,
                            raisedAt: Timestamp(millisecondsSinceEpoch: t.due), mention: step.mentions.first,
                            suggestedAction: rule.suggestedAction, playbookURL: rule.playbookURL, rule: rule.name,
                            escalation: escalation))
                }
                if let via = step.directMessageOwnerVia {
                    // Addressed to the owner by `threaded`, which knows the episode's first alert.
                    var direct = escalation
                    direct.directToOwner = true
                    out.append(
                        AlertRecord(
                            alertId: AlertId.make([id, "direct"]), type: rule.type, severity: t.severity,
                            priority: t.priority, destination: via, accountId: accountId,
                            raisedAt: Timestamp(millisecondsSinceEpoch: t.due), mention: step.mentions.first,
                            suggestedAction: rule.suggestedAction, playbookURL: rule.playbookURL, rule: rule.name,
                            escalation: direct))
                }
                t.raised += 1
                guard Int(t.raised) < sla.maxEscalations,
                    let next = hours.due(from: t.due, adding: sla.respondWithinMs), next > t.due
                else {
                    ended = true
                    break
                }
                t.due = next
            }
            if !ended { kept.append(t) }
        }
        state.escalations = kept
        return out
    }

    /// The id of the escalation numbered `step` (0-based) of an episode: the same for every
    /// destination of the step, and the same when raised again after a restart.
    static func escalationId(accountId: String, rule: AlertRule, openedAt: Int64, step: Int) -> String {
        AlertId.make([accountId, rule.type.rawValue, rule.name, String(openedAt), "escalation", String(step)])
    }

    /// Someone acknowledged, took, snoozed or resolved the episode.
    static func answered(_ life: AlertActionMemory.Lifecycle?) -> Bool {
        guard let life else { return false }
        return life.acknowledgedBy != nil || life.owner != nil || life.snoozedUntil != nil || life.outcome != nil
    }
}
