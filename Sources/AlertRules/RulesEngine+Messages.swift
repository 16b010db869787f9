import Contracts

/// Messages that stay current (issue 24, update in place): each episode's first alert at each
/// destination is its *opening message*; later alerts of the episode there (a worse score, an
/// escalation to the same place, the recovery) name it in `thread`, so a Slack app channel shows
/// them as replies; and what people do with the episode (acknowledge, take, snooze, resolve) and
/// its end (recovery) become update records that edit the opening message in place.
///
/// The openings live in the account's state with the rest (`AccountAlertState.openings`), so a
/// restart or a rebalance keeps them; an opening is dropped once its episode is over (its last
/// update, recovered or resolved, is emitted then).
extension RulesEngine {
    /// At most this many openings per account (destinations × open episodes): beyond it a new
    /// episode's messages are not tracked (they are posted, but not edited later).
    public static let maxOpeningsPerAccount = 16

    /// `sent` (alerts about to go out for `state`'s account) with `thread` set on follow-ups; the
    /// first alert of an open episode at a destination becomes that episode's opening there.
    public func threaded(_ sent: [AlertRecord], state: inout AccountAlertState) -> [AlertRecord] {
        guard !sent.isEmpty else { return sent }
        var out: [AlertRecord] = []
        out.reserveCapacity(sent.count)
        for var alert in sent {
            defer { out.append(alert) }
            guard alert.update == nil, let name = alert.rule else { continue }
            if alert.type == .recovered {
                // The recovery of an episode now closed: its opening at this destination, found by
                // the recovery's id (which names the closed episode's opening time).
                if let o = state.openings.first(where: {
                    $0.alert.destination == alert.destination
                        && AlertId.make([alert.accountId, AlertType.recovered.rawValue, name, String($0.openedAt)])
                            == alert.alertId
                }) {
                    alert.thread = o.alert.alertId
                }
                continue
            }
            guard let key = episodeKey(rule: name), let open = state.episodes.first(where: { $0.ruleKey == key })
            else { continue }
            if alert.escalation != nil, alert.score == nil,
                let first = state.openings.first(where: { $0.ruleKey == key && $0.openedAt == open.openedAt })
            {
                // An escalation shows the facts of the alert nobody answered (the account's name,
                // its health then), not just its id.
                alert.score = first.alert.score
                alert.drop = alert.drop ?? first.alert.drop
            }
            if alert.escalation?.directToOwner == true {
                // A direct message to the account's owner: never a reply in a channel's thread.
                let first = state.openings.first { $0.ruleKey == key && $0.openedAt == open.openedAt }
                alert.directTo = first?.alert.score?.profile.owner ?? alert.score?.profile.owner
                continue
            }
            if let o = state.openings.first(where: {
                $0.ruleKey == key && $0.openedAt == open.openedAt && $0.alert.destination == alert.destination
            }) {
                alert.thread = o.alert.alertId
            } else if alert.escalation == nil, state.openings.count < Self.maxOpeningsPerAccount {
                state.openings.append(.init(ruleKey: key, openedAt: open.openedAt, alert: alert))
            }
        }
        return out
    }

    /// Update records for the openings of episodes no longer open (the account recovered), which
    /// are dropped from `state`. `at` is the event time of the record that closed them.
    public func recoveryUpdates(state: inout AccountAlertState, at: Timestamp) -> [AlertRecord] {
        var updates: [AlertRecord] = []
        state.openings.removeAll { o in
            guard !state.episodes.contains(where: { $0.ruleKey == o.ruleKey && $0.openedAt == o.openedAt }) else {
                return false
            }
            updates.append(
                Self.update(
                    of: o.alert, MessageUpdate(state: .recovered, at: at, score: state.lastScore),
                    discriminator: String(o.openedAt)))
            return true
        }
        return updates
    }

    /// Update records for an action just applied to `state` (`apply(_:to:)` answered `.applied`):
    /// an acknowledgement, a take, a snooze or a resolution edits the episode's opening messages;
    /// a resolution closes them (no recovery edit follows). Silences edit nothing.
    public func actionUpdates(for action: AlertActionRecord, state: inout AccountAlertState) -> [AlertRecord] {
        let change: MessageUpdate
        switch action.kind {
        case .acknowledge: change = MessageUpdate(state: .acknowledged, by: action.by, at: action.at)
        case .take: change = MessageUpdate(state: .taken, by: action.by, at: action.at)
        case .snooze: change = MessageUpdate(state: .snoozed, by: action.by, at: action.at, until: action.until)
        case .resolve:
            change = MessageUpdate(state: .resolved, by: action.by, at: action.at, outcome: action.outcome)
        case .silence, .expireSilence: return []
        }
        guard let (key, openedAt) = episode(of: action, in: state) else { return [] }
        let mine = state.openings.filter { $0.ruleKey == key && $0.openedAt == openedAt }
        if change.state.closesEpisode {
            state.openings.removeAll { $0.ruleKey == key && $0.openedAt == openedAt }
        }
        return mine.map { Self.update(of: $0.alert, change, discriminator: action.actionId) }
    }

    /// The compiled key of rule `name` when it is an episode rule (not a trigger or recovery rule).
    func episodeKey(rule name: String) -> UInt32? {
        guard let index = config.rules.firstIndex(where: { $0.name == name }), index < compiled.count else {
            return nil
        }
        switch compiled[index].kind {
        case .trigger, .episodeEnded: return nil
        default: return compiled[index].key
        }
    }

    /// The update record editing `opening`'s message: the opening alert as it was (so the edit
    /// shows the same facts) with `change`, its own id (so the dispatcher's delivery log makes
    /// it idempotent) and `thread` naming the message edited.
    static func update(of opening: AlertRecord, _ change: MessageUpdate, discriminator: String) -> AlertRecord {
        var r = opening
        r.alertId = AlertId.make([opening.alertId, "update", change.state.rawValue, discriminator])
        r.thread = opening.alertId
        r.update = change
        r.raisedAt = change.at
        r.notBefore = nil
        return r
    }
}
