import AlertRules
import Contracts

/// The backtest as one self-contained HTML page: the figures of the text report as inline SVG
/// charts and tables, the comparison if there is one, and, for every account (chosen in a list, or
/// by `#account-id` in the address), its score over time with its alerts marked. No network, no
/// external script or style sheet: the page works from a file, offline. A few lines of inline
/// script switch the account shown; without script, the first account is shown.
public enum BacktestHTML {
    /// The page. `healthyAt` and `atRiskAt` are the scoring zones (for the bands behind scores).
    public static func page(
        _ result: BacktestResult, figures: BacktestFigures,
        comparison: (RuleSetComparison, nameA: String, nameB: String)? = nil,
        title: String = "Backtest", healthyAt: Int = 70, atRiskAt: Int = 40
    ) -> String {
        let e = HTMLText.escape
        var h =
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        h += "<title>\(e(title))</title><style>\(style)</style></head><body>\n"
        h += "<h1>\(e(title))</h1>\n"

        // Summary.
        let s = result.summary
        h += "<section id=\"summary\"><h2>Input and totals</h2><dl class=\"totals\">"
        func item(_ k: String, _ v: String, id: String) {
            h += "<div><dt>\(e(k))</dt><dd id=\"\(id)\">\(e(v))</dd></div>"
        }
        item("events", "\(s.events)", id: "total-events")
        item("bad lines", "\(result.badLineCount)", id: "total-bad-lines")
        item("accounts", "\(s.accounts)", id: "total-accounts")
        item("score records", "\(result.scoreRecords)", id: "total-scores")
        item("alerts", "\(figures.alerts.count)", id: "total-alerts")
        item("destination records", "\(figures.destinationRecords)", id: "total-destination-records")
        item("records on the alerts topic", "\(result.primary.alerts.count)", id: "total-topic-records")
        item("held at the end", "\(figures.heldAtEnd)", id: "total-held")
        h +=
            "</dl><p>Events from \(e(result.firstEventAt?.rfc3339 ?? "-")) to \(e(result.lastEventAt?.rfc3339 ?? "-")); alerts from \(e(result.from?.rfc3339 ?? "the start")) to \(e(result.to?.rfc3339 ?? "the end")).</p>"
        if result.badLineCount > 0 {
            h += "<details id=\"bad-lines\"><summary>\(result.badLineCount) bad lines</summary><ul>"
            for b in result.badLines.prefix(200) { h += "<li>line \(b.number): \(e(b.reason))</li>" }
            h += "</ul></details>"
        }
        h += "</section>\n"

        // Figures.
        h += "<section id=\"by-destination\"><h2>Alerts per destination</h2>"
        h += SVGChart.bars(figures.destinations.map { ($0.destination, $0.alerts) }, title: "alerts per destination")
        h +=
            "<table><thead><tr><th>destination</th><th>alerts</th><th>at once</th><th>after quiet hours</th><th>in a digest</th><th>digests</th><th>messages</th></tr></thead><tbody>"
        for d in figures.destinations {
            h +=
                "<tr><td>\(e(d.destination))</td><td>\(d.alerts)</td><td>\(d.now)</td><td>\(d.deferred)</td><td>\(d.digested)</td><td>\(d.digests)</td><td>\(d.messages)</td></tr>"
        }
        h += "</tbody></table></section>\n"
        h +=
            "<section id=\"by-type\"><h2>Alerts per type</h2>"
            + SVGChart.bars(figures.byType.map { ($0.0.rawValue, $0.1) }, title: "alerts per type", color: "#7b5ea7")
            + "</section>\n"
        h +=
            "<section id=\"by-priority\"><h2>Alerts per priority</h2>"
            + SVGChart.bars(
                figures.byPriority.map { ($0.0.rawValue, $0.1) }, title: "alerts per priority", color: "#c0504d")
            + "</section>\n"
        h +=
            "<section id=\"by-week\"><h2>Alerts per ISO week</h2>"
            + SVGChart.columns(
                figures.byWeek.map {
                    ("W\($0.0.description.suffix(2))", String($0.0.start.dateString.dropFirst(5)), $0.1)
                },
                title: "alerts per ISO week (label: week, its Monday)") + "</section>\n"

        h +=
            "<section id=\"noisy-accounts\"><h2>Noisiest accounts</h2><table><thead><tr><th>account</th><th>name</th><th>alerts</th><th>types</th></tr></thead><tbody>"
        for a in figures.accounts.prefix(20) {
            let types = a.types.map { "\($0.0.rawValue) \($0.1)" }.joined(separator: ", ")
            h +=
                "<tr><td><a href=\"#\(e(a.accountId))\">\(e(a.accountId))</a></td><td>\(e(a.name ?? ""))</td><td>\(a.alerts)</td><td>\(e(types))</td></tr>"
        }
        h += "</tbody></table></section>\n"
        h +=
            "<section id=\"noisy-rules\"><h2>Noisiest rules</h2><table><thead><tr><th>rule</th><th>alerts</th><th>accounts</th></tr></thead><tbody>"
        for r in figures.rules { h += "<tr><td>\(e(r.rule))</td><td>\(r.alerts)</td><td>\(r.accounts)</td></tr>" }
        h += "</tbody></table></section>\n"

        if let (c, nameA, nameB) = comparison { h += compareSection(c, nameA: nameA, nameB: nameB) }

        // Accounts: every account, selectable; noisiest first.
        var alertsByAccount: [String: [BacktestAlert]] = [:]
        for a in figures.alerts { alertsByAccount[a.accountId, default: []].append(a) }
        let order = result.series.sorted {
            let (x, y) = (alertsByAccount[$0.accountId]?.count ?? 0, alertsByAccount[$1.accountId]?.count ?? 0)
            return x != y ? x > y : $0.accountId < $1.accountId
        }
        let from = result.from ?? result.firstEventAt ?? Timestamp(millisecondsSinceEpoch: 0)
        let to = result.to ?? result.lastEventAt ?? from
        h += "<section id=\"accounts\"><h2>Score over time, per account</h2>"
        h += "<p><label for=\"account-select\">Account </label><select id=\"account-select\">"
        for (k, series) in order.enumerated() {
            let n = alertsByAccount[series.accountId]?.count ?? 0
            let name = series.profile.name.map { " \($0)" } ?? ""
            h +=
                "<option value=\"\(e(series.accountId))\"\(k == 0 ? " selected" : "")>\(e(series.accountId + name)) (\(n) alert\(n == 1 ? "" : "s"))</option>"
        }
        h += "</select></p>"
        for (k, series) in order.enumerated() {
            let alerts = alertsByAccount[series.accountId] ?? []
            h +=
                "<div class=\"account\" id=\"account-\(e(series.accountId))\" data-account=\"\(e(series.accountId))\"\(k == 0 ? "" : " hidden")>"
            let tier = series.profile.tier.map { ", \($0.rawValue)" } ?? ""
            h += "<h3>\(e(series.accountId))\(e(series.profile.name.map { " · \($0)" } ?? ""))\(e(tier))</h3>"
            h += SVGChart.scoreLine(
                series.points, alerts: alerts, from: from, to: to, healthyAt: healthyAt, atRiskAt: atRiskAt,
                accountId: series.accountId)
            if alerts.isEmpty {
                h += "<p class=\"no-alerts\">No alerts.</p>"
            } else {
                h += "<ul class=\"account-alerts\">"
                for a in alerts {
                    h +=
                        "<li>\(e(a.raisedAt.rfc3339)) <b>\(e(a.type.rawValue))</b> \(e(a.severity.rawValue)) \(a.priority) (\(e(a.rule))) → \(e(a.destinationNames.joined(separator: ", "))): \(e(a.signals.joined(separator: "; ")))</li>"
                }
                h += "</ul>"
            }
            h += "</div>\n"
        }
        h += "</section>\n"

        // Every alert with its signals.
        h +=
            "<section id=\"alerts\"><h2>Alerts and the signals behind them</h2><table><thead><tr><th>event time</th><th>account</th><th>type</th><th>severity</th><th>priority</th><th>rule</th><th>destinations</th><th>signals</th></tr></thead><tbody>"
        for a in figures.alerts {
            let dests = a.destinationNames.map { d -> String in
                switch a.destinations[d]! {
                case .now: d
                case .deferred(let until): "\(d) (after quiet hours, \(until.rfc3339))"
                case .digest(let due): "\(d) (digest \(due.rfc3339))"
                }
            }
            h +=
                "<tr class=\"alert-row sev-\(a.severity.rawValue)\" data-alert=\"\(e(a.alertId))\"><td>\(e(a.raisedAt.rfc3339))</td><td><a href=\"#\(e(a.accountId))\">\(e(a.accountId))</a></td><td>\(e(a.type.rawValue))</td><td>\(e(a.severity.rawValue))</td><td>\(a.priority)</td><td>\(e(a.rule))</td><td>\(e(dests.joined(separator: ", ")))</td><td><ul>"
            for sig in a.signals { h += "<li>\(e(sig))</li>" }
            h += "</ul></td></tr>"
        }
        h += "</tbody></table></section>\n"
        h += "<script>\(script)</script>\n</body></html>\n"
        return h
    }

    static func compareSection(_ c: RuleSetComparison, nameA: String, nameB: String) -> String {
        let e = HTMLText.escape
        var h = "<section id=\"compare\"><h2>What-if: A = \(e(nameA)), B = \(e(nameB))</h2>"
        h += SVGChart.bars(
            [
                ("same", c.same.count), ("changed", c.changed.count), ("only in A", c.onlyInA.count),
                ("only in B", c.onlyInB.count),
            ],
            title: "comparison of two rule sets", color: "#607d8b")
        func rows(_ list: [BacktestAlert], id: String, heading: String) -> String {
            var r = "<h3>\(e(heading)) (\(list.count))</h3><table id=\"\(id)\"><tbody>"
            for a in list {
                r +=
                    "<tr><td>\(e(a.raisedAt.rfc3339))</td><td>\(e(a.accountId))</td><td>\(e(a.type.rawValue))</td><td>\(a.priority)</td><td>\(e(a.rule))</td><td>\(e(a.destinationNames.joined(separator: ", ")))</td></tr>"
            }
            return r + "</tbody></table>"
        }
        h += rows(c.onlyInA, id: "only-in-a", heading: "Only in A")
        h += rows(c.onlyInB, id: "only-in-b", heading: "Only in B")
        h += "<h3>Changed (\(c.changed.count))</h3><table id=\"changed\"><tbody>"
        for p in c.changed {
            h +=
                "<tr><td>\(e(p.a.raisedAt.rfc3339))</td><td>\(e(p.a.accountId))</td><td>\(e(p.a.type.rawValue))</td><td>\(e(p.differences.joined(separator: "; ")))</td></tr>"
        }
        return h + "</tbody></table></section>\n"
    }

    static let style = """
        body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;max-width:1100px}
        h1{font-size:24px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ddd}
        table{border-collapse:collapse;margin:8px 0;font-size:13px}td,th{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
        th{background:#f3f3f3}dl.totals{display:flex;flex-wrap:wrap;gap:12px}dl.totals div{border:1px solid #ddd;padding:6px 10px;border-radius:4px}
        dt{font-size:12px;color:#666}dd{margin:0;font-size:20px;font-weight:600}
        td ul{margin:0;padding-left:16px}.sev-critical td:nth-child(4){color:#c62828;font-weight:600}.sev-high td:nth-child(4){color:#ef6c00}
        svg{display:block;margin:6px 0}
        """

    static let script = """
        (function(){var sel=document.getElementById('account-select');if(!sel)return;
        function show(id){var divs=document.querySelectorAll('div.account');var found=false;
        for(var i=0;i<divs.length;i++){var on=divs[i].getAttribute('data-account')===id;divs[i].hidden=!on;if(on)found=true;}
        if(found){sel.value=id;document.body.setAttribute('data-selected-account',id);}return found;}
        sel.addEventListener('change',function(){show(sel.value);});
        function fromHash(){var id=decodeURIComponent(location.hash.slice(1));if(id&&show(id)){document.getElementById('accounts').scrollIntoView();}}
        window.addEventListener('hashchange',fromHash);
        if(!location.hash||!show(decodeURIComponent(location.hash.slice(1)))){show(sel.value);}})();
        """
}
