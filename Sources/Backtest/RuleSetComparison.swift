import AlertRules
import Contracts

/// The same history under two rule sets, A and B: the alerts only one of them raises, and those both
/// raise but with another priority, other channels or at another time. The what-if a team runs
/// before changing its rules.
///
/// Alerts are matched by account + type + episode time: first by alert id (the same rule and
/// episode give the same id, so a change of routing or priorities matches exactly), then, among
/// what is left, by account and type with the nearest raise time within `window` (a changed
/// threshold that opens the same episode a day later is the same alert, raised later).
public struct RuleSetComparison: Sendable {
    /// An alert both rule sets raise, as each raises it.
    public struct Pair: Sendable, Hashable {
        /// The alert as rule set A raises it.
        public var a: BacktestAlert
        /// The alert as rule set B raises it.
        public var b: BacktestAlert

        /// Priority differs.
        public var priorityChanged: Bool { a.priority != b.priority }
        /// The set of destinations differs.
        public var channelsChanged: Bool { Set(a.destinations.keys) != Set(b.destinations.keys) }
        /// Raised at another event time.
        public var timeChanged: Bool { a.raisedAt != b.raisedAt }
        /// Severity differs.
        public var severityChanged: Bool { a.severity != b.severity }
        /// Anything a team would notice differs.
        public var changed: Bool { priorityChanged || channelsChanged || timeChanged || severityChanged }

        /// What changed, in words ("priority P4 -> P2; channels +cs-escalations; raised 1d 6h later").
        public var differences: [String] {
            var out: [String] = []
            if severityChanged { out.append("severity \(a.severity.rawValue) -> \(b.severity.rawValue)") }
            if priorityChanged { out.append("priority \(a.priority) -> \(b.priority)") }
            if channelsChanged {
                let added = Set(b.destinations.keys).subtracting(a.destinations.keys).sorted().map { "+\($0)" }
                let removed = Set(a.destinations.keys).subtracting(b.destinations.keys).sorted().map { "-\($0)" }
                out.append("channels " + (added + removed).joined(separator: " "))
            }
            if timeChanged {
                let ms = b.raisedAt.millisecondsSinceEpoch - a.raisedAt.millisecondsSinceEpoch
                out.append("raised \(RuleSetComparison.duration(abs(ms))) \(ms > 0 ? "later" : "earlier")")
            }
            return out
        }
    }

    /// Alerts raised by A only.
    public var onlyInA: [BacktestAlert]
    /// Alerts raised by B only.
    public var onlyInB: [BacktestAlert]
    /// Alerts both raise, identical in priority, channels, severity and time.
    public var same: [Pair]
    /// Alerts both raise, with a difference.
    public var changed: [Pair]

    /// Compares the alerts of two runs over the same history.
    public init(a: [BacktestAlert], b: [BacktestAlert], windowMs: Int64 = 3 * 86_400_000) {
        var pairs: [Pair] = []
        var restA: [BacktestAlert] = []
        var byIdB: [String: Int] = [:]
        for (k, x) in b.enumerated() { byIdB[x.alertId] = k }
        var usedB = [Bool](repeating: false, count: b.count)
        for x in a {
            if let k = byIdB[x.alertId], !usedB[k] {
                usedB[k] = true
                pairs.append(Pair(a: x, b: b[k]))
            } else {
                restA.append(x)
            }
        }
        // Second pass: account + type, the nearest raise time within the window.
        struct Key: Hashable {
            var account: String
            var type: AlertType
        }
        var candidates: [Key: [Int]] = [:]
        for k in b.indices where !usedB[k] {
            candidates[Key(account: b[k].accountId, type: b[k].type), default: []].append(k)
        }
        var onlyA: [BacktestAlert] = []
        for x in restA {
            let key = Key(account: x.accountId, type: x.type)
            var best: Int?
            var bestGap = Int64.max
            for k in candidates[key] ?? [] where !usedB[k] {
                let gap = abs(b[k].raisedAt.millisecondsSinceEpoch - x.raisedAt.millisecondsSinceEpoch)
                if gap <= windowMs, gap < bestGap {
                    best = k
                    bestGap = gap
                }
            }
            if let best {
                usedB[best] = true
                pairs.append(Pair(a: x, b: b[best]))
            } else {
                onlyA.append(x)
            }
        }
        let order: (BacktestAlert, BacktestAlert) -> Bool = {
            ($0.raisedAt, $0.accountId, $0.alertId) < ($1.raisedAt, $1.accountId, $1.alertId)
        }
        onlyInA = onlyA.sorted(by: order)
        onlyInB = b.indices.filter { !usedB[$0] }.map { b[$0] }.sorted(by: order)
        pairs.sort { order($0.a, $1.a) }
        same = pairs.filter { !$0.changed }
        changed = pairs.filter(\.changed)
    }

    /// The comparison's report lines; `nameA` and `nameB` name the rule files.
    public func lines(nameA: String, nameB: String) -> [String] {
        var out = [
            "compare: A = \(nameA), B = \(nameB)",
            "  alerts in A: \(onlyInA.count + same.count + changed.count), in B: \(onlyInB.count + same.count + changed.count)",
            "  same: \(same.count), changed: \(changed.count), only in A: \(onlyInA.count), only in B: \(onlyInB.count)",
        ]
        out.append("only in A (\(onlyInA.count))")
        for x in onlyInA { out.append("  " + BacktestReport.alertLine(x)) }
        out.append("only in B (\(onlyInB.count))")
        for x in onlyInB { out.append("  " + BacktestReport.alertLine(x)) }
        out.append("changed (\(changed.count))")
        for p in changed {
            out.append("  " + BacktestReport.alertLine(p.a))
            out.append("      B: " + p.differences.joined(separator: "; "))
        }
        return out
    }

    /// `2d 6h`, `5h`, `30m`.
    static func duration(_ ms: Int64) -> String {
        let minutes = ms / 60_000
        let d = minutes / 1440
        let h = minutes % 1440 / 60
        let m = minutes % 60
        var parts: [String] = []
        if d > 0 { parts.append("\(d)d") }
        if h > 0 { parts.append("\(h)h") }
        if m > 0 || parts.isEmpty { parts.append("\(m)m") }
        return parts.joined(separator: " ")
    }
}
