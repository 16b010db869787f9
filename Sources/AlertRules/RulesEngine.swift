import Contracts

/// The evaluator's brain: score records in, alerts out, pure and deterministic.
///
/// `evaluate(_:state:)` applies every rule to one score record of one account and returns the
/// alerts it raises (one record per destination): thresholds, episodes, cooldowns, inhibitions,
/// suppressions, routing and priority. When a destination sees them (quiet hours, digests) is not
/// decided here: that is the dispatcher's `DestinationSchedule`, which the backtest and rules tests
/// run too (`DestinationTimeline`, driven by `PartitionEvaluator`).
///
/// Time only comes in as values (`ScoreRecord.validAt`).
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

    /// The result of `evaluation(of:state:)`: what the record was, and the alerts it raised.
    public struct Evaluation: Sendable {
        public var news: RecordNews
        public var alerts: [AlertRecord]
    }

    /// Applies the rules to `record` and returns the alerts it raises.
    public func evaluate(_ record: ScoreRecord, state: inout AccountAlertState) -> [AlertRecord] {
        evaluation(of: record, state: &state).alerts
    }

    /// Applies the rules to `record` as `evaluate(_:state:)` does and also tells what the record was
    /// (`RecordNews`): the evaluator counts the records it skips. A skipped record (`repeated`,
    /// `tooLate`) leaves `state` unchanged.
    public func evaluation(of record: ScoreRecord, state: inout AccountAlertState) -> Evaluation {
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
            let alerts = raise(candidates, record: record, now: now, state: &state)
            return Evaluation(news: .late, alerts: alerts)
        }
        state.rememberRecord(identity)
        return Evaluation(news: .current, alerts: evaluateCurrent(record, now: now, state: &state))
    }

    /// Every rule on a record at or after the last one's time.
    private func evaluateCurrent(_ record: ScoreRecord, now: Int64, state: inout AccountAlertState) -> [AlertRecord] {
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
        return raise(candidates, record: record, now: now, state: &state)
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

    // MARK: - Raise and route

    private func raise(
        _ candidates: [Candidate], record: ScoreRecord, now: Int64, state: inout AccountAlertState
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
            route(
                rule: rule, severity: c.severity, alertId: AlertId.make(idParts), trigger: trigger, drop: c.drop,
                record: record, into: &out)
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

    /// One alert per destination the routes give, with its priority.
    private func route(
        rule: AlertRule, severity: Severity, alertId: String, trigger: Trigger?, drop: ScoreDrop?, record: ScoreRecord,
        into out: inout [AlertRecord]
    ) {
        let tier = record.profile.tier ?? config.defaults.tier
        let facts = RoutingFacts(
            type: rule.type, severity: severity, tier: tier, zone: record.zone, mrr: record.profile.mrr,
            accountId: record.accountId, owner: record.profile.owner)
        let destinations = config.destinations(for: facts)
        guard !destinations.isEmpty else { return }
        let priority = config.priorities.priority(severity: severity, tier: tier)
        for destination in destinations {
            out.append(
                AlertRecord(
                    alertId: alertId, type: rule.type, severity: severity, priority: priority,
                    destination: destination, accountId: record.accountId, raisedAt: record.validAt,
                    score: record, trigger: trigger, mention: record.profile.owner,
                    suggestedAction: rule.suggestedAction, playbookURL: rule.playbookURL, rule: rule.name, drop: drop))
        }
    }
}
