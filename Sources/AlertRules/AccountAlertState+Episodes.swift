import Contracts

/// A read-only view of an account's episodes for operators and metrics (issue 24): what is open,
/// how bad, who answered, and its SLA clock, without the changelog's internal layout.
extension AccountAlertState {
    /// One episode of one rule, as the state holds it.
    public struct EpisodeView: Sendable, Equatable {
        /// The rule (`AlertId.ruleKey` of its name: the state keeps no names).
        public var ruleKey: UInt32
        /// When it opened (event time): part of its alerts' ids.
        public var openedAt: Timestamp
        /// Alerts raised in it so far (0: opened, none sent yet, such as while a `hold_for` runs).
        public var alertsSent: Int
        /// When its latest alert was raised (its opening while none was).
        public var lastAlertAt: Timestamp
        /// The severity of its latest alert.
        public var severity: Severity
        /// What people did with it (acknowledged, owner, snoozed, resolved), if anything.
        public var lifecycle: AlertActionMemory.Lifecycle?
        /// Its response-SLA clock while one runs (nobody answered yet).
        public var sla: SLAClock?

        /// Resolved by someone (its alerts are no longer sent; it stays until its condition clears).
        public var isResolved: Bool { lifecycle?.outcome != nil }
        /// Open for people: alerted, and not resolved.
        public var isOpen: Bool { alertsSent > 0 && !isResolved }
    }

    /// The SLA clock of an unanswered episode.
    public struct SLAClock: Sendable, Equatable {
        /// When the next escalation is due (the SLA's end while none was raised).
        public var due: Timestamp
        /// Escalations raised so far (above 0: the SLA was breached).
        public var escalationsRaised: Int
        public var priority: Priority
        /// The destination whose business hours count the SLA.
        public var destination: String
        /// The alert that started the clock.
        public var alertId: String
    }

    /// Every episode of the account, in the order the state keeps them.
    public var episodeViews: [EpisodeView] {
        episodes.map { e in
            let clock = escalations.first { $0.ruleKey == e.ruleKey && $0.openedAt == e.openedAt }
            return EpisodeView(
                ruleKey: e.ruleKey, openedAt: Timestamp(millisecondsSinceEpoch: e.openedAt), alertsSent: Int(e.sent),
                lastAlertAt: Timestamp(millisecondsSinceEpoch: e.lastSentAt), severity: e.lastSeverity,
                lifecycle: actions.lifecycles.first { $0.ruleKey == e.ruleKey && $0.openedAt == e.openedAt },
                sla: clock.map {
                    SLAClock(
                        due: Timestamp(millisecondsSinceEpoch: $0.due), escalationsRaised: Int($0.raised),
                        priority: $0.priority, destination: $0.destination, alertId: $0.alertId)
                })
        }
    }

    /// The severities of the episodes open for people (`EpisodeView.isOpen`), one per episode.
    public var openEpisodeSeverities: [Severity] {
        episodes.compactMap { e in
            guard e.sent > 0 else { return nil }
            let resolved = actions.lifecycles.contains {
                $0.ruleKey == e.ruleKey && $0.openedAt == e.openedAt && $0.outcome != nil
            }
            return resolved ? nil : e.lastSeverity
        }
    }

    /// The latest score evaluated for the account.
    public var latestScore: Int? { lastScore }
}
