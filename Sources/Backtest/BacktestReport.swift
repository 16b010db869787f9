import AlertRules
import Contracts
import HealthModel

/// The plain-text report of a backtest (what `fleet-admin backtest` prints): the input, the alerts
/// per destination, type, priority and week, the noisiest accounts and rules, and every alert with
/// the signals behind it.
public enum BacktestReport {
    /// The report's lines. `top` bounds the noisiest lists; `alertLimit` the alert list (nil: all).
    public static func lines(_ result: BacktestResult, figures: BacktestFigures, top: Int = 10, alertLimit: Int? = nil)
        -> [String]
    {
        var out: [String] = []
        out += inputLines(result)
        let f = figures
        out.append("")
        out.append(
            "alerts: \(f.alerts.count) (\(f.destinationRecords) destination records); \(result.primary.alerts.count) records on the alerts topic; \(f.heldAtEnd) still held at the end"
        )

        out.append("")
        out.append("by destination" + pad("", 10) + "alerts    now  after quiet hours  in digest  digests  messages")
        for d in f.destinations {
            out.append(
                "  " + pad(d.destination, 22) + lpad(d.alerts, 6) + lpad(d.now, 7) + lpad(d.deferred, 19)
                    + lpad(d.digested, 11)
                    + lpad(d.digests, 9) + lpad(d.messages, 10))
        }
        out.append("")
        out.append("by type")
        for (t, n) in f.byType { out.append("  " + pad(t.rawValue, 22) + lpad(n, 6)) }
        out.append("by priority")
        for (p, n) in f.byPriority { out.append("  " + pad(p.rawValue, 22) + lpad(n, 6)) }
        out.append("by severity")
        for (s, n) in f.bySeverity { out.append("  " + pad(s.rawValue, 22) + lpad(n, 6)) }
        out.append("by week (ISO, week of the alert's event time)")
        let widest = f.byWeek.map(\.1).max() ?? 0
        for (w, n) in f.byWeek {
            let bar = widest > 0 ? String(repeating: "#", count: (n * 40 + widest - 1) / widest) : ""
            out.append("  \(w) (\(w.start.dateString))" + lpad(n, 6) + "  " + bar)
        }
        out.append("")
        out.append("noisiest accounts")
        for a in f.accounts.prefix(top) {
            let types = a.types.map { "\($0.0.rawValue) \($0.1)" }.joined(separator: ", ")
            out.append("  " + pad(a.accountId, 12) + pad(a.name ?? "", 20) + lpad(a.alerts, 4) + "  " + types)
        }
        out.append("noisiest rules")
        for r in f.rules.prefix(top) {
            out.append(
                "  " + pad(r.rule, 24) + lpad(r.alerts, 4)
                    + " alerts on \(r.accounts) account\(r.accounts == 1 ? "" : "s")")
        }
        out.append("")
        out.append(
            "alerts (event time, account, type, severity, priority, rule -> destinations; the signals behind it)")
        let shown = alertLimit.map { Array(f.alerts.prefix($0)) } ?? f.alerts
        for a in shown {
            out.append("  " + alertLine(a))
            for s in a.signals { out.append("      " + s) }
        }
        if shown.count < f.alerts.count { out.append("  ... \(f.alerts.count - shown.count) more") }
        return out
    }

    /// The input part: lines, events, bad lines with their numbers, accounts, scores, period.
    public static func inputLines(_ result: BacktestResult, maxBadLines: Int = 20) -> [String] {
        let s = result.summary
        var out = [
            "input: \(result.lines) lines, \(s.events) events, \(s.applied) applied, \(s.duplicates) duplicates, \(s.tooLate) too late, \(result.badLineCount) bad lines"
        ]
        if result.eventsAfterPeriod > 0 {
            out.append("  \(result.eventsAfterPeriod) events after the period (not applied)")
        }
        if result.badLineCount > 0 {
            for (reason, n) in s.rejected.sorted(by: { ($1.value, $0.key) < ($0.value, $1.key) }) {
                out.append("  bad: \(reason): \(n)")
            }
            for b in result.badLines.prefix(maxBadLines) { out.append("  line \(b.number): \(b.reason)") }
            if result.badLineCount > min(maxBadLines, result.badLines.count) {
                out.append("  ... \(result.badLineCount - min(maxBadLines, result.badLines.count)) more bad lines")
            }
        }
        let span = [result.firstEventAt?.rfc3339 ?? "-", result.lastEventAt?.rfc3339 ?? "-"].joined(separator: " .. ")
        out.append(
            "events from \(span); alerts reported from \(result.from?.rfc3339 ?? "the start") to \(result.to?.rfc3339 ?? "the end")"
        )
        out.append(
            "accounts: \(s.accounts); zones at the end: "
                + Zone.allCases.map { "\($0.rawValue) \(s.zones[$0] ?? 0)" }.joined(separator: ", "))
        out.append("score records: \(result.scoreRecords)")
        return out
    }

    /// `2026-10-21T00:00:00Z acct-0000 (Account 0000 Corp) customer_at_risk high P1 account-at-risk -> cs-escalations, customer-health (after quiet hours)`.
    public static func alertLine(_ a: BacktestAlert) -> String {
        let name = a.accountName.map { " (\($0))" } ?? ""
        let dests = a.destinationNames.map { d -> String in
            switch a.destinations[d]! {
            case .now: d
            case .deferred(let until): "\(d) (held to \(until.rfc3339))"
            case .digest(let due): "\(d) (digest \(due.rfc3339))"
            }
        }.joined(separator: ", ")
        let score = a.score.map { " score \($0)" } ?? ""
        return
            "\(a.raisedAt.rfc3339) \(a.accountId)\(name) \(a.type.rawValue) \(a.severity.rawValue) \(a.priority)\(score) \(a.rule) -> \(dests)"
    }

    static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count)
    }

    static func lpad(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return s.count >= width ? " " + s : String(repeating: " ", count: width - s.count) + s
    }
}
