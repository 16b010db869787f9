import Contracts

/// What came of applying one `alert-actions` record to an account's state.
public enum ActionApplication: Sendable, Equatable {
    /// Applied: the episode's lifecycle or the silences changed.
    case applied
    /// Its `action_id` was applied before (a click delivered twice): nothing changed.
    case duplicate
    /// A button action whose alert belongs to no open episode of this account (closed since, or a
    /// trigger alert, which has no episode): remembered, nothing else changed.
    case noEpisode
    /// The record is not whole (`AlertActionRecord.problem`): nothing changed.
    case refused(String)
}

/// Whether an alert the rules raised is sent, after what people did.
public enum LifecycleVerdict: Sendable, Equatable {
    /// Sent (with the episode's owner as its mention when someone took it).
    case send(AlertRecord)
    /// Not sent: `snoozed`, `resolved` or `silenced`.
    case suppressed(reason: String)
}

/// The alert lifecycle (issue 24): actions applied to episodes, and the verdict on each alert.
/// Pure, like the rest of the engine: time comes in with the records.
extension RulesEngine {
    /// Applies `action` to `state` (the state of `action.accountId`, or of `*` for a silence on
    /// every account). A button action is matched to the open episode its alert id belongs to
    /// (the ids of that episode's alerts so far are recomputed), so a click on an alert of an
    /// earlier episode of the same rule changes nothing.
    public func apply(_ action: AlertActionRecord, to state: inout AccountAlertState) -> ActionApplication {
        if let problem = action.problem { return .refused(problem) }
        if state.actions.hasApplied(action.actionId) { return .duplicate }
        state.actions.remember(action.actionId)
        switch action.kind {
        case .silence:
            guard let matchers = action.matchers, let until = action.until, let id = action.silenceId else {
                return .refused("incomplete silence")
            }
            state.actions.add(
                .init(id: id, matchers: matchers, until: until, by: action.by, at: action.at, reason: action.reason))
            return .applied
        case .expireSilence:
            state.actions.silences.removeAll { $0.id == action.silenceId }
            return .applied
        case .acknowledge, .take, .snooze, .resolve:
            guard let (key, openedAt) = episode(of: action, in: state) else { return .noEpisode }
            var life =
                state.actions.lifecycles.first { $0.ruleKey == key && $0.openedAt == openedAt }
                ?? .init(ruleKey: key, openedAt: openedAt)
            switch action.kind {
            case .acknowledge:
                life.acknowledgedBy = action.by
                life.acknowledgedAt = action.at
            case .take:
                life.owner = action.by
                life.takenAt = action.at
                if life.acknowledgedBy == nil {
                    life.acknowledgedBy = action.by
                    life.acknowledgedAt = action.at
                }
            case .snooze:
                life.snoozedUntil = action.until
            default:
                life.outcome = action.outcome
                life.resolvedBy = action.by
                life.resolvedAt = action.at
            }
            state.actions.lifecycles.removeAll { $0.ruleKey == key }
            state.actions.lifecycles.append(life)
            // Someone answered: the episode's SLA clock stops (`RulesEngine+Escalation.swift`).
            state.escalations.removeAll { $0.ruleKey == key && $0.openedAt == openedAt }
            return .applied
        }
    }

    /// The verdict on `alert`, just raised for `state`'s account, with `everyAccount` the state of
    /// key `*` (silences on every account). Lifecycles of episodes no longer open and ended
    /// silences are dropped from `state` on the way.
    public func lifecycleVerdict(
        for alert: AlertRecord, state: inout AccountAlertState, everyAccount: AccountAlertState?
    ) -> LifecycleVerdict {
        let now = alert.raisedAt
        state.actions.lifecycles.removeAll { life in
            !state.episodes.contains { $0.ruleKey == life.ruleKey && $0.openedAt == life.openedAt }
        }
        state.actions.pruneSilences(now: now)
        let silences = state.actions.silences + (everyAccount?.actions.silences ?? [])
        let tier = alert.score?.profile.tier
        if silences.contains(where: {
            $0.until > now
                && $0.matchers.matches(
                    account: alert.accountId, rule: alert.rule, type: alert.type, tier: tier,
                    destination: alert.destination)
        }) {
            return .suppressed(reason: "silenced")
        }
        guard alert.type != .recovered, let rule = alert.rule,
            let key = compiled.indices.first(where: { config.rules[$0].name == rule }).map({ compiled[$0].key }),
            let open = state.episodes.first(where: { $0.ruleKey == key })
        else { return .send(alert) }
        guard let life = state.actions.lifecycles.first(where: { $0.ruleKey == key && $0.openedAt == open.openedAt })
        else {
            if alert.escalation == nil { noteFirstAlert(alert, key: key, openedAt: open.openedAt, state: &state) }
            return .send(alert)
        }
        if life.outcome != nil { return .suppressed(reason: "resolved") }
        if let until = life.snoozedUntil, until > now { return .suppressed(reason: "snoozed") }
        if life.alertedAt == nil, alert.escalation == nil {
            noteFirstAlert(alert, key: key, openedAt: open.openedAt, state: &state)
        }
        var sent = alert
        if let owner = life.owner { sent.mention = owner }
        return .send(sent)
    }

    /// Remembers when the episode's first alert was sent, and its priority, in the episode's
    /// lifecycle (made for it when nobody acted yet): time to acknowledge counts from there.
    private func noteFirstAlert(
        _ alert: AlertRecord, key: UInt32, openedAt: Int64, state: inout AccountAlertState
    ) {
        if let i = state.actions.lifecycles.firstIndex(where: { $0.ruleKey == key && $0.openedAt == openedAt }) {
            guard state.actions.lifecycles[i].alertedAt == nil else { return }
            state.actions.lifecycles[i].alertedAt = alert.raisedAt
            state.actions.lifecycles[i].priority = alert.priority
            return
        }
        var life = AlertActionMemory.Lifecycle(ruleKey: key, openedAt: openedAt)
        life.alertedAt = alert.raisedAt
        life.priority = alert.priority
        state.actions.lifecycles.removeAll { $0.ruleKey == key }
        state.actions.lifecycles.append(life)
    }

    /// The open episode (rule key, opening time) whose alerts include `action.alertId`.
    func episode(of action: AlertActionRecord, in state: AccountAlertState) -> (UInt32, Int64)? {
        guard let rule = action.rule, let alertId = action.alertId,
            let index = config.rules.firstIndex(where: { $0.name == rule }), index < compiled.count
        else { return nil }
        let key = compiled[index].key
        guard let open = state.episodes.first(where: { $0.ruleKey == key }) else { return nil }
        let type = config.rules[index].type.rawValue
        // The ids of the episode's alerts: sequence 0 up to the alerts sent so far (bounded: an
        // episode's repeats are rate-limited by its repeat interval).
        let last = min(open.sent, 10_000)
        for seq in 0...last
        where AlertId.make([action.accountId, type, rule, String(open.openedAt), String(seq)]) == alertId {
            return (key, open.openedAt)
        }
        // A click on one of the episode's escalations answers the episode too.
        let alertRule = config.rules[index]
        for step in 0..<ResponseSLA.escalationCap {
            let id = Self.escalationId(
                accountId: action.accountId, rule: alertRule, openedAt: open.openedAt, step: step)
            // The channel escalation, or its direct message to the owner.
            if id == alertId || AlertId.make([id, "direct"]) == alertId { return (key, open.openedAt) }
        }
        return nil
    }
}
