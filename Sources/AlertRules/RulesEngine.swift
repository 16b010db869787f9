import Contracts

/// The evaluator's brain: score records in, alerts out, pure and deterministic.
///
/// - `evaluate(_:state:)` applies every rule to one score record of one account and returns the
///   alerts to send now (one record per destination). Alerts deferred by quiet hours and items for
///   digests stay in the account's state.
/// - `tick(now:state:)` releases the account's deferred alerts whose time has come, with their
///   `notBefore` set. Deferral is held here rather than emitted at once so that the `alerts` topic
///   only carries what is due: a dispatcher never has to park records, and a destination's retry
///   and rate-limit queue is not clogged by a night's worth of waiting alerts.
/// - `takeDueDigestItems(now:state:)` and `assembleDigests(_:)` gather due digest items from many
///   accounts into one digest record per destination and period (see `PartitionEvaluator`).
///
/// Time only comes in as values (`ScoreRecord.validAt`, `now`).
public struct RulesEngine: Sendable {
    public let config: RulesConfig
    /// The rules in a lean form for the per-record loop (no sets or dictionaries to hash or retain).
    let compiled: [CompiledRule]
    /// The longest drop window: how long score peaks are kept.
    let peakWindowMs: Int64
    /// Recovery rules (indices) by the index of the rule whose episode end they announce.
    let recoveryRules: [[Int]]

    struct CompiledRule: Sendable {
        enum Kind: Sendable {
            case zoneIn(mask: UInt8, recoverAt: Int)
            case scoreDrop(points: Int, withinMs: Int64)
            case crossesBelow(line: Int)
            case trigger(mask: UInt8)
            case signal(code: String, atLeast: Double, minScore: Int)
            case episodeEnded
        }

        var kind: Kind
        var key: UInt32
        /// Severity by zone (`Zone.badness` index).
        var severities: [Severity]
        var holdForMs: Int64
        var repeatWhenWorseBy: Double
        var repeatIntervalMs: Int64

        static func zoneBit(_ zone: Zone) -> UInt8 { 1 << UInt8(zone.badness) }

        static func triggerBit(_ type: TriggerType) -> UInt8 {
            UInt8(1) << UInt8(TriggerType.allCases.firstIndex(of: type)!)
        }

        init(_ rule: AlertRule) {
            switch rule.condition {
            case .zoneIn(let zones, let recoverAt):
                kind = .zoneIn(mask: zones.reduce(0) { $0 | Self.zoneBit($1) }, recoverAt: recoverAt ?? 0)
            case .scoreDrop(let points, let within): kind = .scoreDrop(points: points, withinMs: within)
            case .crossesBelow(let line): kind = .crossesBelow(line: line)
            case .trigger(let types): kind = .trigger(mask: types.reduce(0) { $0 | Self.triggerBit($1) })
            case .signal(let code, let atLeast, let minScore):
                kind = .signal(code: code, atLeast: atLeast, minScore: minScore ?? Int.min)
            case .episodeEnded: kind = .episodeEnded
            }
            key = rule.key
            severities = Zone.allCases.sorted { $0.badness < $1.badness }.map { rule.severity(in: $0) }
            holdForMs = rule.holdForMs
            repeatWhenWorseBy = rule.repeatWhenWorseBy ?? .infinity
            repeatIntervalMs = rule.repeatIntervalMs
        }

        @inline(__always) func severity(in zone: Zone) -> Severity { severities[zone.badness] }
    }

    public init(config: RulesConfig) {
        self.config = config
        compiled = config.rules.map(CompiledRule.init)
        var window: Int64 = 0
        var recovery = [[Int]](repeating: [], count: config.rules.count)
        for (i, rule) in config.rules.enumerated() {
            switch rule.condition {
            case .scoreDrop(_, let within): window = max(window, within)
            case .episodeEnded(let target):
                if let t = config.rules.firstIndex(where: { $0.name == target }) { recovery[t].append(i) }
            default: break
            }
        }
        peakWindowMs = window
        recoveryRules = recovery
    }

    enum CandidateKind {
        case episode(openedAt: Int64, seq: UInt32)
        case trigger(Trigger, refKey: String)
        case recovery(openedAt: Int64)
    }

    struct Candidate {
        var rule: Int
        var severity: Severity
        var metric: Double
        var kind: CandidateKind
        /// For drop rules: the drop measured by this evaluation.
        var drop: ScoreDrop? = nil
    }

    // MARK: - Evaluate

    /// What a score record is to its account's alert state: whether it is news is decided by its
    /// identity (`ScoreRecord.identity`: the scorer's sequence, time, event ids and triggers), not
    /// by its time and score, so two records of the same second and score are both news.
    public enum RecordNews: String, Sendable, Hashable, CaseIterable {
        /// At or after the time of the last record evaluated: every rule sees it.
        case current
        /// Older than the last record evaluated, by at most the trigger dedup window
        /// (`defaults.dedup_window`): its triggers are evaluated (a business event is news until it
        /// was seen); its score does not take the account's history back in time (episodes, drops
        /// and crossings follow the newest score).
        case late
        /// The same record again (an identity among the last `AccountAlertState.recentRecordCapacity`
        /// evaluated), such as a record a scorer emitted again after a crash: skipped.
        case repeated
        /// Older than the last record evaluated by more than the trigger dedup window, where its
        /// triggers can no longer be told from ones already alerted on: skipped.
        case tooLate = "too_late"
    }

    /// The result of `evaluation(of:state:observe:)`: what the record was, and the alerts to deliver now.
    public struct Evaluation: Sendable {
        public var news: RecordNews
        public var alerts: [AlertRecord]
    }

    /// Applies the rules to `record` and returns the alerts to deliver now.
    public func evaluate(_ record: ScoreRecord, state: inout AccountAlertState) -> [AlertRecord] {
        evaluation(of: record, state: &state) { _, _ in }.alerts
    }

    /// Applies the rules to `record` and returns the alerts to deliver now, as `evaluate(_:state:)`
    /// does; `observe` also sees every alert raised, one per destination, with where it went: sent
    /// now, held by quiet hours, or queued for a digest (a backtest reports all three).
    public func evaluate(
        _ record: ScoreRecord, state: inout AccountAlertState, observe: (AlertRecord, AlertDisposition) -> Void
    ) -> [AlertRecord] {
        evaluation(of: record, state: &state, observe: observe).alerts
    }

    /// Applies the rules to `record` as `evaluate(_:state:observe:)` does and also tells what the
    /// record was (`RecordNews`): the evaluator counts the records it skips. A skipped record
    /// (`repeated`, `tooLate`) leaves `state` unchanged.
    public func evaluation(
        of record: ScoreRecord, state: inout AccountAlertState,
        observe: (AlertRecord, AlertDisposition) -> Void = { _, _ in }
    ) -> Evaluation {
        let now = record.validAt.millisecondsSinceEpoch
        let identity = record.identity
        // The same record again (at-least-once delivery upstream: a scorer that crashed before its
        // commit emits its records again): not news.
        if state.recentRecords.contains(identity) { return Evaluation(news: .repeated, alerts: []) }
        if let last = state.lastEvaluatedAt, now < last {
            let (earliest, overflow) = last.subtractingReportingOverflow(config.defaults.dedupWindowMs)
            if !overflow, now < earliest { return Evaluation(news: .tooLate, alerts: []) }
            state.rememberRecord(identity)
            var candidates: [Candidate] = []
            for i in compiled.indices {
                guard case .trigger(let mask) = compiled[i].kind else { continue }
                triggerCandidates(rule: i, mask: mask, record: record, now: now, state: &state, candidates: &candidates)
            }
            guard !candidates.isEmpty else { return Evaluation(news: .late, alerts: []) }
            let alerts = raise(candidates, record: record, now: now, state: &state, observe: observe)
            return Evaluation(news: .late, alerts: alerts)
        }
        state.rememberRecord(identity)
        return Evaluation(news: .current, alerts: evaluateCurrent(record, now: now, state: &state, observe: observe))
    }

    /// Every rule on a record at or after the last one's time.
    private func evaluateCurrent(
        _ record: ScoreRecord, now: Int64, state: inout AccountAlertState,
        observe: (AlertRecord, AlertDisposition) -> Void
    ) -> [AlertRecord] {
        let score = record.score
        state.lastEvaluatedAt = now
        let previous = state.lastScore ?? record.previousScore
        if peakWindowMs > 0 {
            // Scores are steps: the previous record's score held until just before now, however
            // long ago it came (an account whose score does not move sends no records). Stamp it so
            // first, so a drop from a score held for weeks is measured from that score.
            if let held = state.lastScore { updatePeaks(&state, at: now - 1, score: held) }
            updatePeaks(&state, at: now, score: score)
        }

        var candidates: [Candidate] = []
        let zoneBit = CompiledRule.zoneBit(record.zone)
        for i in compiled.indices {
            let rule = compiled[i]
            switch rule.kind {
            case .zoneIn(let mask, let recoverAt):
                let active = mask & zoneBit != 0
                let holds = active || score < recoverAt
                episode(
                    rule: i, active: active, holds: holds, canOpen: active,
                    severity: rule.severity(in: record.zone), metric: Double(100 - score),
                    now: now, state: &state, candidates: &candidates)
            case .scoreDrop(let points, let within):
                // The first peak inside the window is its highest score (peaks strictly decrease).
                var peak = score
                var peakAt = now
                for p in state.peaks where p.at >= now - within {
                    if p.score > peak { (peak, peakAt) = (p.score, p.at) }
                    break
                }
                let drop = peak - score
                let active = drop >= points
                episode(
                    rule: i, active: active, holds: active, canOpen: active,
                    severity: rule.severity(in: record.zone), metric: Double(drop),
                    drop: ScoreDrop(
                        points: drop, fromScore: peak, fromAt: Timestamp(millisecondsSinceEpoch: peakAt),
                        windowMs: within),
                    now: now, state: &state, candidates: &candidates)
            case .crossesBelow(let line):
                let below = score < line
                let crossed = below && (previous.map { $0 >= line } ?? false)
                let from = previous ?? score
                episode(
                    rule: i, active: below, holds: below, canOpen: crossed,
                    severity: rule.severity(in: record.zone), metric: Double(line - score),
                    drop: ScoreDrop(points: max(0, from - score), fromScore: from, line: line),
                    now: now, state: &state, candidates: &candidates)
            case .trigger(let mask):
                triggerCandidates(rule: i, mask: mask, record: record, now: now, state: &state, candidates: &candidates)
            case .signal(let code, let atLeast, let minScore):
                var value: Double?
                for s in record.positiveSignals where s.code == code {
                    value = s.value
                    break
                }
                let active = (value.map { $0 >= atLeast } ?? false) && score >= minScore
                episode(
                    rule: i, active: active, holds: active, canOpen: active,
                    severity: rule.severity(in: record.zone), metric: value ?? 0,
                    now: now, state: &state, candidates: &candidates)
            case .episodeEnded:
                break
            }
        }
        state.lastScore = score
        guard !candidates.isEmpty else { return [] }
        return raise(candidates, record: record, now: now, state: &state, observe: observe)
    }

    /// A candidate for each trigger of `record` that rule `i` (a trigger rule) takes and that was not
    /// seen before: a trigger is news until it was seen.
    private func triggerCandidates(
        rule i: Int, mask: UInt8, record: ScoreRecord, now: Int64,
        state: inout AccountAlertState, candidates: inout [Candidate]
    ) {
        let rule = compiled[i]
        for trigger in record.triggers where mask & CompiledRule.triggerBit(trigger.type) != 0 {
            let refKey = "\(trigger.type.rawValue):\(trigger.ref ?? trigger.eventId)"
            guard markSeen(refKey, at: now, state: &state) else { continue }
            candidates.append(
                Candidate(
                    rule: i, severity: rule.severity(in: record.zone), metric: 0,
                    kind: .trigger(trigger, refKey: refKey)))
        }
    }

    /// Opens, continues or closes the episode of rule `i` and adds a candidate alert when one is due.
    /// `active`: the condition fires now; `holds`: the episode stays open; `canOpen`: a new one may open.
    private func episode(
        rule i: Int, active: Bool, holds: Bool, canOpen: Bool, severity: Severity, metric: Double,
        drop: ScoreDrop? = nil, now: Int64, state: inout AccountAlertState, candidates: inout [Candidate]
    ) {
        let rule = compiled[i]
        guard let e = state.episodeIndex(rule.key) else {
            guard canOpen else { return }
            state.episodes.append(
                .init(
                    ruleKey: rule.key, openedAt: now, sent: 0, lastSentAt: now, lastMetric: metric,
                    lastSeverity: severity))
            if rule.holdForMs == 0 {
                candidates.append(
                    Candidate(
                        rule: i, severity: severity, metric: metric, kind: .episode(openedAt: now, seq: 0), drop: drop))
            }
            return
        }
        let ep = state.episodes[e]
        guard holds else {
            state.episodes.remove(at: e)
            if ep.sent > 0 {
                for r in recoveryRules[i] {
                    candidates.append(
                        Candidate(
                            rule: r, severity: config.rules[r].severity, metric: 0,
                            kind: .recovery(openedAt: ep.openedAt)))
                }
            }
            return
        }
        guard active else { return }
        let due: Bool
        if ep.sent == 0 {
            due = now - ep.openedAt >= rule.holdForMs
        } else {
            due =
                severity > ep.lastSeverity
                || metric >= ep.lastMetric + rule.repeatWhenWorseBy
                || now - ep.lastSentAt >= rule.repeatIntervalMs
        }
        if due {
            candidates.append(
                Candidate(
                    rule: i, severity: severity, metric: metric, kind: .episode(openedAt: ep.openedAt, seq: ep.sent),
                    drop: drop))
        }
    }

    private func updatePeaks(_ state: inout AccountAlertState, at now: Int64, score: Int) {
        while let last = state.peaks.last, last.score <= score { state.peaks.removeLast() }
        state.peaks.append(.init(at: now, score: score))
        var drop = 0
        while drop < state.peaks.count - 1, state.peaks[drop].at < now - peakWindowMs { drop += 1 }
        if drop > 0 { state.peaks.removeFirst(drop) }
    }

    /// Remembers a trigger ref; false if it was already seen within the dedup window.
    private func markSeen(_ refKey: String, at now: Int64, state: inout AccountAlertState) -> Bool {
        let hash = AlertId.fnv1a64([refKey])
        let horizon = now - config.defaults.dedupWindowMs
        state.seenRefs.removeAll { $0.at < horizon }
        if state.seenRefs.contains(where: { $0.hash == hash }) { return false }
        if state.seenRefs.count >= 128 { state.seenRefs.removeFirst() }
        state.seenRefs.append(.init(hash: hash, at: now))
        return true
    }

    // MARK: - Raise and deliver

    private func raise(
        _ candidates: [Candidate], record: ScoreRecord, now: Int64, state: inout AccountAlertState,
        observe: (AlertRecord, AlertDisposition) -> Void
    ) -> [AlertRecord] {
        let criticalOpen =
            candidates.contains { $0.severity == .critical }
            || state.episodes.contains { $0.sent > 0 && $0.lastSeverity == .critical }
        var out: [AlertRecord] = []
        for c in candidates {
            let rule = config.rules[c.rule]
            if config.suppressions.contains(where: {
                $0.suppresses(account: record.accountId, type: rule.type, at: record.validAt)
            }) {
                continue
            }
            var trigger: Trigger?
            let idParts: [String]
            switch c.kind {
            case .recovery(let openedAt):
                guard !inCooldown(rule, c.severity, state: state, now: now) else { continue }
                idParts = [record.accountId, rule.type.rawValue, rule.name, String(openedAt)]
            case .episode(let openedAt, let seq):
                guard !inhibited(rule, c.severity, record: record, criticalOpen: criticalOpen) else { continue }
                idParts = [record.accountId, rule.type.rawValue, rule.name, String(openedAt), String(seq)]
                let cooling = inCooldown(rule, c.severity, state: state, now: now)
                if let e = state.episodeIndex(compiled[c.rule].key) {
                    // Sent, or covered by the alert that started the cooldown: either way the episode
                    // has spoken, and repeats follow from here.
                    state.episodes[e].sent += 1
                    state.episodes[e].lastSentAt = now
                    state.episodes[e].lastMetric = c.metric
                    state.episodes[e].lastSeverity = c.severity
                }
                if cooling { continue }
            case .trigger(let t, let refKey):
                guard !inhibited(rule, c.severity, record: record, criticalOpen: criticalOpen),
                    !inCooldown(rule, c.severity, state: state, now: now)
                else { continue }
                idParts = [record.accountId, rule.type.rawValue, rule.name, refKey]
                trigger = t
            }
            state.recordAlert(of: rule.type, at: now, severity: c.severity)
            deliver(
                rule: rule, severity: c.severity, alertId: AlertId.make(idParts), trigger: trigger, drop: c.drop,
                record: record, state: &state, into: &out, observe: observe)
        }
        return out
    }

    /// Muted by an inhibition rule.
    private func inhibited(_ rule: AlertRule, _ severity: Severity, record: ScoreRecord, criticalOpen: Bool) -> Bool {
        for inhibition in config.inhibitions {
            let source: Bool
            switch inhibition.when {
            case .cancellationScheduled: source = record.cancellationScheduled
            case .openCriticalAlert: source = criticalOpen
            }
            if source, inhibition.mutes(rule.type, severity) { return true }
        }
        return false
    }

    /// An alert of the same type went to this account within the rule's cooldown (before or, for a
    /// late record, after `now`), and this one is not more severe.
    private func inCooldown(_ rule: AlertRule, _ severity: Severity, state: AccountAlertState, now: Int64) -> Bool {
        guard let last = state.lastAlert(of: rule.type) else { return false }
        let (gap, overflow) = now.subtractingReportingOverflow(last.at)
        guard !overflow else { return false }
        return gap.magnitude < UInt64(max(0, rule.cooldownMs)) && severity <= last.severity
    }

    private func deliver(
        rule: AlertRule, severity: Severity, alertId: String, trigger: Trigger?, drop: ScoreDrop?, record: ScoreRecord,
        state: inout AccountAlertState, into out: inout [AlertRecord], observe: (AlertRecord, AlertDisposition) -> Void
    ) {
        let tier = record.profile.tier ?? config.defaults.tier
        let facts = RoutingFacts(
            type: rule.type, severity: severity, tier: tier, zone: record.zone, mrr: record.profile.mrr,
            accountId: record.accountId, owner: record.profile.owner)
        let destinations = config.destinations(for: facts)
        guard !destinations.isEmpty else { return }
        let priority = config.priorities.priority(severity: severity, tier: tier)
        for destination in destinations {
            let alert = AlertRecord(
                alertId: alertId, type: rule.type, severity: severity, priority: priority,
                destination: destination, accountId: record.accountId, raisedAt: record.validAt,
                score: record, trigger: trigger, mention: record.profile.owner,
                suggestedAction: rule.suggestedAction, playbookURL: rule.playbookURL, rule: rule.name, drop: drop)
            let policy = config.destinations[destination]
            if let digest = policy?.digest, severity <= digest.maxSeverity, severity < .critical {
                let due = digest.nextDue(after: record.validAt)
                state.digestQueue.append(
                    .init(
                        destination: destination, due: due,
                        priority: priority, item: Self.digestItem(of: alert, record: record)))
                observe(alert, .digest(due: due))
            } else if severity < .critical, let quiet = policy?.quietHours,
                let end = quiet.end(containing: record.validAt)
            {
                var held = alert
                held.notBefore = end
                state.deferred.append(held)
                observe(alert, .deferred(until: end))
            } else {
                out.append(alert)
                observe(alert, .now)
            }
        }
    }

    static func digestItem(of alert: AlertRecord, record: ScoreRecord) -> DigestItem {
        let headline: String
        switch alert.type {
        case .expansionSignal, .upsellOpportunity:
            headline = record.positiveSignals.first?.text ?? "Growth signal"
        case .recovered:
            headline = "Back to \(record.zone.rawValue) at score \(record.score)"
        case .billingRetryFailed:
            headline =
                record.signals.first {
                    $0.code == SignalCode.billingRetryFailed || $0.code == SignalCode.paymentFailures
                }?.text
                ?? "Billing retry failed"
        default:
            headline =
                record.signals.first?.text ?? "Score \(record.score) (\(alert.drop?.summary ?? String(record.delta)))"
        }
        return DigestItem(
            alertId: alert.alertId, type: alert.type, severity: alert.severity, accountId: record.accountId,
            accountName: record.profile.name, score: record.score, delta: record.delta, zone: record.zone,
            headline: headline, url: record.profile.url, at: record.validAt, drop: alert.drop)
    }

    // MARK: - Time

    /// Releases the account's deferred alerts due at `now` (their `notBefore` is set), in time order.
    public func tick(now: Timestamp, state: inout AccountAlertState) -> [AlertRecord] {
        guard state.deferred.contains(where: { $0.notBefore.map { $0 <= now } ?? true }) else { return [] }
        var due: [AlertRecord] = []
        var keep: [AlertRecord] = []
        for alert in state.deferred {
            if alert.notBefore.map({ $0 <= now }) ?? true { due.append(alert) } else { keep.append(alert) }
        }
        state.deferred = keep
        return due.sorted {
            ($0.notBefore!.millisecondsSinceEpoch, $0.alertId, $0.destination) < (
                $1.notBefore!.millisecondsSinceEpoch, $1.alertId, $1.destination
            )
        }
    }

    /// Removes and returns the account's digest items due at `now`.
    public func takeDueDigestItems(now: Timestamp, state: inout AccountAlertState) -> [AccountAlertState
        .QueuedDigestItem]
    {
        guard state.digestQueue.contains(where: { $0.due <= now }) else { return [] }
        let due = state.digestQueue.filter { $0.due <= now }
        state.digestQueue.removeAll { $0.due <= now }
        return due
    }

    /// One digest record per destination and due time, listing its items (most severe first).
    ///
    /// The id is a hash of the destination, the due time and the item ids: a replay gives the same
    /// id, and digests assembled by different partitions for the same destination do not collide.
    public func assembleDigests(_ items: [AccountAlertState.QueuedDigestItem]) -> [AlertRecord] {
        struct Key: Hashable {
            var destination: String
            var due: Timestamp
        }
        let groups = Dictionary(grouping: items) { Key(destination: $0.destination, due: $0.due) }
        var out: [AlertRecord] = []
        for key in groups.keys.sorted(by: { ($0.due, $0.destination) < ($1.due, $1.destination) }) {
            let group = groups[key]!
            let id = AlertId.make(
                ["digest", key.destination, String(key.due.millisecondsSinceEpoch)] + group.map(\.item.alertId).sorted()
            )
            let title = config.destinations[key.destination]?.digest?.title(due: key.due) ?? "Digest"
            out.append(
                Self.digestRecord(
                    id: id, destination: key.destination, due: key.due, title: title,
                    items: group.map { ($0.priority, $0.item) }))
        }
        return out
    }

    /// A digest record listing `items` most severe first (then by account and id); its severity is
    /// the worst item's, its priority the most urgent one's. `items` must not be empty.
    static func digestRecord(
        id: String, destination: String, due: Timestamp, title: String, items: [(priority: Priority, item: DigestItem)]
    ) -> AlertRecord {
        let sorted = items.sorted {
            ($1.item.severity.rank, $0.item.accountId, $0.item.alertId) < (
                $0.item.severity.rank, $1.item.accountId, $1.item.alertId
            )
        }
        return AlertRecord(
            alertId: id, type: .digest, severity: sorted.map(\.item.severity).max()!,
            priority: sorted.map(\.priority).min()!,
            destination: destination, accountId: "*", raisedAt: due, notBefore: due, rule: "digest",
            digestItems: sorted.map(\.item), digestTitle: title)
    }
}
