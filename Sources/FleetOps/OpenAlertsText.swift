import AlertRules
import Contracts
import Foundation

/// `fleet-admin alerts` for people (a table) and for machines (JSON), from `OpenAlerts.rows`.
public enum OpenAlertsText {
    /// The column headers of `table`.
    public static let header = [
        "ACCOUNT", "RULE", "SEVERITY", "PRIORITY", "OPENED", "ALERTS", "OWNER", "ACKNOWLEDGED", "SLA", "MESSAGE",
    ]

    /// The cells of one row, in `header`'s order.
    public static func cells(_ row: OpenAlertRow) -> [String] {
        var ack = row.acknowledgedBy.map { by in row.acknowledgedAt.map { "\(by) \($0.rfc3339)" } ?? by } ?? "-"
        if let until = row.snoozedUntil { ack += " (snoozed until \(until.rfc3339))" }
        if let outcome = row.outcome { ack += " (resolved: \(outcome.rawValue))" }
        return [
            row.account, row.rule, row.severity.rawValue, row.priority?.rawValue ?? "-", row.openedAt.rfc3339,
            String(row.alertsSent), row.owner ?? "-", ack, sla(row.sla), message(row.delivery),
        ]
    }

    /// The SLA cell: `due <time>`, `BREACHED, escalated N` (or `BREACHED, was due <time>`), or `-`.
    public static func sla(_ sla: OpenAlertRow.SLA?) -> String {
        guard let sla else { return "-" }
        guard sla.breached else { return sla.due.map { "due \($0.rfc3339)" } ?? "-" }
        if sla.escalations > 0 { return "BREACHED, escalated \(sla.escalations)" }
        return "BREACHED, was due \(sla.due?.rfc3339 ?? "?")"
    }

    /// The message cell: where and when the latest message went, with Slack's answer, or `-`.
    public static func message(_ delivery: OpenAlertRow.Delivery?) -> String {
        guard let d = delivery else { return "-" }
        let answer = (200..<300).contains(d.status) ? "\(d.status) ok" : "\(d.status)"
        let place = d.channel.flatMap { c in d.ts.map { " \(c)/\($0)" } } ?? ""
        return "\(d.destination)\(place) \(d.deliveredAt.rfc3339) \(answer)"
    }

    /// The rows as an aligned table with its header, then a summary line.
    public static func table(_ rows: [OpenAlertRow]) -> String {
        let breached = rows.filter { $0.sla?.breached == true }.count
        let accounts = Set(rows.map(\.account)).count
        let summary =
            "\(rows.count) open episode\(rows.count == 1 ? "" : "s") in \(accounts) account\(accounts == 1 ? "" : "s"), \(breached) past their SLA"
        guard !rows.isEmpty else { return summary + "\n" }
        return TextTable.render([header] + rows.map(cells)) + summary + "\n"
    }

    /// The rows as one JSON array (sorted keys; absent values left out), for machines.
    public static func json(_ rows: [OpenAlertRow]) throws -> String {
        guard !rows.isEmpty else { return "[]\n" }
        let encoder = RecordCoding.makeEncoder()
        encoder.outputFormatting.insert(.prettyPrinted)
        return String(decoding: try encoder.encode(rows), as: UTF8.self) + "\n"
    }
}

/// Columns padded to their widest cell, two spaces apart (the last column not padded).
public enum TextTable {
    public static func render(_ lines: [[String]]) -> String {
        let columns = lines.map(\.count).max() ?? 0
        var widths = Array(repeating: 0, count: columns)
        for line in lines {
            for (i, cell) in line.enumerated() { widths[i] = max(widths[i], cell.count) }
        }
        var out = ""
        for line in lines {
            var text = ""
            for (i, cell) in line.enumerated() {
                text += i == line.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count + 2)
            }
            out += text + "\n"
        }
        return out
    }
}
