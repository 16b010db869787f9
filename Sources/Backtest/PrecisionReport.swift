import Contracts

/// Which rules are right: per rule, the alerts sent in a period, what people said of them (the
/// "Useful" / "Not useful" links), and what became of the accounts (outcome events), with a plain
/// suggestion where a rule is mostly marked not useful.
///
/// Per alert (one alert id, whatever the number of channels it went to):
/// - its verdict is the latest feedback given on it (a change of mind counts, not the clicks);
///   records with the same `link_id` are one click (two dispatcher replicas may both accept the
///   same link within milliseconds of each other): counted once, so the report is idempotent for
///   such duplicates;
/// - it is **escalated to churn** if its account churned after it (within `churnWindowMs`), whatever
///   its verdict: the alert was right, and not enough was done;
/// - else, when someone resolved it with the Resolve buttons or `alert-actions` (issue 24), the
///   outcome they chose: `false_positive`, `resolved` (a true positive, resolved) or
///   `escalated_to_churn` (the latest resolution of the alert counts);
/// - else a **true positive, resolved** if it was marked useful (the team acted; `renewed` counts
///   those whose account renewed since);
/// - else a **false positive** if it was marked not useful;
/// - else unrated.
/// Precision is useful / (useful + not useful). Digest records are not counted (their lines carry
/// no rule); a low-severity alert that also went to a channel directly is counted there.
public struct PrecisionReport: Sendable {
    /// One rule's figures.
    public struct RuleFigures: Sendable, Hashable {
        /// The rule's name (the alert's `rule`, else its type).
        public var rule: String
        /// Alerts sent (distinct alert ids) in the period.
        public var alerts = 0
        /// Alerts whose latest verdict is useful.
        public var useful = 0
        /// Alerts whose latest verdict is not useful.
        public var notUseful = 0
        /// Alerts whose account churned after them.
        public var churnedAfter = 0
        /// Alerts whose account renewed after them.
        public var renewedAfter = 0
        /// Resolved as a false positive, or else marked not useful; the account did not churn.
        public var falsePositives = 0
        /// Resolved as resolved, or else marked useful; the account did not churn.
        public var truePositivesResolved = 0
        /// The account churned after the alert, whatever its verdict (or someone resolved it so).
        public var escalatedToChurn = 0
        /// Alerts marked not useful whose account churned anyway.
        public var notUsefulButChurned = 0
        /// Alerts someone resolved with an outcome (the categories above count those outcomes).
        public var resolvedByPeople = 0
        /// A plain suggestion, when the feedback calls for one.
        public var suggestion: String?

        /// Alerts with a verdict.
        public var rated: Int { useful + notUseful }
        /// Alerts without a verdict.
        public var unrated: Int { alerts - rated }
        /// useful / rated; nil before any verdict.
        public var precision: Double? { rated > 0 ? Double(useful) / Double(rated) : nil }
    }

    /// Alerts raised from this time on are counted.
    public var since: Timestamp
    /// ...up to this time; feedback and outcomes up to it too.
    public var until: Timestamp
    /// Rules by alerts sent, most first (ties by name).
    public var rules: [RuleFigures]
    /// Feedback records on alerts not among those of the period (older alerts, or another file).
    public var unmatchedFeedback: Int
    /// Feedback records in the period, on matched alerts.
    public var feedbackCount: Int

    /// - Parameters:
    ///   - alerts: records of the `alerts` topic (one per destination; digests are skipped).
    ///   - feedback: records of `alert-feedback`.
    ///   - outcomes: `account_churned` / `account_renewed` events.
    ///   - resolutions: `alert-actions` records; the `resolve` ones with an outcome are read.
    ///   - since, until: alerts raised in `[since, until]` are counted; feedback, outcomes and
    ///     resolutions up to `until`.
    ///   - churnWindowMs: a churn counts for an alert raised at most this long before it.
    ///   - minRated: verdicts a rule needs before a suggestion is made.
    public init(
        alerts: [AlertRecord], feedback: [FeedbackRecord], outcomes: [AccountOutcome],
        resolutions: [AlertActionRecord] = [], since: Timestamp, until: Timestamp,
        churnWindowMs: Int64 = 90 * 86_400_000, minRated: Int = 5
    ) {
        self.since = since
        self.until = until
        // One entry per alert id, the earliest record's facts.
        var firstSeen: [String: AlertRecord] = [:]
        for a in alerts where a.type != .digest && a.raisedAt >= since && a.raisedAt <= until {
            if let known = firstSeen[a.alertId], known.raisedAt <= a.raisedAt { continue }
            firstSeen[a.alertId] = a
        }
        // The latest verdict per alert.
        var verdicts: [String: FeedbackRecord] = [:]
        var unmatched = 0
        var matched = 0
        var links: Set<String> = []
        for f in feedback where f.recordedAt <= until {
            if let link = f.linkId, !links.insert(link).inserted { continue }
            guard firstSeen[f.alertId] != nil else {
                unmatched += 1
                continue
            }
            matched += 1
            if let known = verdicts[f.alertId], known.recordedAt > f.recordedAt { continue }
            verdicts[f.alertId] = f
        }
        unmatchedFeedback = unmatched
        feedbackCount = matched
        // The latest resolution with an outcome per alert.
        var resolved: [String: AlertActionRecord] = [:]
        for r in resolutions where r.kind == .resolve && r.outcome != nil && r.at <= until {
            guard let id = r.alertId, firstSeen[id] != nil else { continue }
            if let known = resolved[id], known.at > r.at { continue }
            resolved[id] = r
        }
        var byAccount: [String: [AccountOutcome]] = [:]
        for o in outcomes where o.at <= until { byAccount[o.accountId, default: []].append(o) }

        var figures: [String: RuleFigures] = [:]
        for a in firstSeen.values {
            let rule = a.rule ?? a.type.rawValue
            var f = figures[rule] ?? RuleFigures(rule: rule)
            f.alerts += 1
            let after = (byAccount[a.accountId] ?? []).filter {
                $0.at >= a.raisedAt && $0.at.millisecondsSinceEpoch - a.raisedAt.millisecondsSinceEpoch <= churnWindowMs
            }
            let churned = after.contains { $0.kind == .churned }
            if churned { f.churnedAfter += 1 }
            if after.contains(where: { $0.kind == .renewed }) { f.renewedAfter += 1 }
            let verdict = verdicts[a.alertId]?.verdict
            if verdict == .useful { f.useful += 1 }
            if verdict == .notUseful { f.notUseful += 1 }
            let outcome = resolved[a.alertId]?.outcome
            if outcome != nil { f.resolvedByPeople += 1 }
            if churned {
                f.escalatedToChurn += 1
                if verdict == .notUseful { f.notUsefulButChurned += 1 }
            } else if let outcome {
                switch outcome {
                case .falsePositive: f.falsePositives += 1
                case .resolved: f.truePositivesResolved += 1
                case .escalatedToChurn: f.escalatedToChurn += 1
                }
            } else if verdict == .useful {
                f.truePositivesResolved += 1
            } else if verdict == .notUseful {
                f.falsePositives += 1
            }
            figures[rule] = f
        }
        rules = figures.values.map {
            var f = $0
            f.suggestion = Self.suggestion(for: f, minRated: minRated)
            return f
        }
        .sorted { ($1.alerts, $0.rule) < ($0.alerts, $1.rule) }
    }

    /// A plain suggestion for a rule, or nil when its feedback calls for none.
    static func suggestion(for f: RuleFigures, minRated: Int) -> String? {
        guard f.rated >= minRated, let precision = f.precision else { return nil }
        let percent = Int((precision * 100).rounded())
        if f.notUseful * 2 > f.rated {
            var s =
                "Mostly marked not useful (\(f.notUseful) of \(f.rated), precision \(percent)%): make it stricter (a higher threshold, a longer hold) or send it to a digest instead of a channel; check the change with `fleet-admin backtest --compare` first."
            if f.notUsefulButChurned > 0 {
                s +=
                    " But \(f.notUsefulButChurned) of the alerts marked not useful were followed by the account's churn: look at those before loosening it."
            }
            return s
        }
        if precision >= 0.8 {
            return "Trusted (precision \(percent)%): keep it."
        }
        return nil
    }

    /// Alerts someone resolved with an outcome, over every rule.
    public var resolvedCount: Int { rules.reduce(0) { $0 + $1.resolvedByPeople } }

    /// The report as text lines, one row per rule, then the suggestions.
    public var lines: [String] {
        var out = [
            "precision of rules, alerts raised \(since.rfc3339) .. \(until.rfc3339)",
            "  \(rules.reduce(0) { $0 + $1.alerts }) alerts, \(feedbackCount) feedback records (\(unmatchedFeedback) on alerts outside the period)"
                + (resolvedCount > 0 ? ", \(resolvedCount) resolved with an outcome" : ""),
            "",
        ]
        func pad(_ s: String, _ w: Int) -> String {
            s.count >= w ? s + " " : s + String(repeating: " ", count: w - s.count)
        }
        func lpad(_ s: String, _ w: Int) -> String {
            s.count >= w ? " " + s : String(repeating: " ", count: w - s.count) + s
        }
        out.append(
            pad("rule", 24) + lpad("alerts", 7) + lpad("useful", 8) + lpad("not", 6) + lpad("unrated", 9)
                + lpad("precision", 11)
                + lpad("churned", 9) + lpad("false+", 8) + lpad("true+ resolved", 16) + lpad("to churn", 10))
        for f in rules {
            let precision = f.precision.map { "\(Int(($0 * 100).rounded()))%" } ?? "-"
            out.append(
                pad(f.rule, 24) + lpad("\(f.alerts)", 7) + lpad("\(f.useful)", 8) + lpad("\(f.notUseful)", 6)
                    + lpad("\(f.unrated)", 9)
                    + lpad(precision, 11) + lpad("\(f.churnedAfter)", 9) + lpad("\(f.falsePositives)", 8)
                    + lpad("\(f.truePositivesResolved)", 16)
                    + lpad("\(f.escalatedToChurn)", 10))
        }
        let suggestions = rules.compactMap { f in f.suggestion.map { "  \(f.rule): \($0)" } }
        if !suggestions.isEmpty {
            out.append("")
            out.append("suggestions")
            out += suggestions
        }
        return out
    }
}
