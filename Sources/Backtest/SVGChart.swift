import Contracts

/// Inline SVG charts for the HTML report: no script, no external resource, readable without CSS.
enum SVGChart {
    /// Horizontal bars, one per item, labelled with the name and the value.
    static func bars(_ items: [(label: String, value: Int)], title: String, color: String = "#4a7bd0", width: Int = 560)
        -> String
    {
        let rowHeight = 22
        let labelWidth = 180
        let valueWidth = 50
        let height = max(1, items.count) * rowHeight + 8
        let widest = max(1, items.map(\.value).max() ?? 1)
        let barSpace = Double(width - labelWidth - valueWidth)
        var s =
            "<svg class=\"chart bars\" role=\"img\" aria-label=\"\(HTMLText.escape(title))\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" xmlns=\"http://www.w3.org/2000/svg\">"
        s += "<title>\(HTMLText.escape(title))</title>"
        for (k, item) in items.enumerated() {
            let y = 4 + k * rowHeight
            let w = barSpace * Double(item.value) / Double(widest)
            s += "<text x=\"0\" y=\"\(y + 15)\" font-size=\"13\">\(HTMLText.escape(item.label))</text>"
            s +=
                "<rect x=\"\(labelWidth)\" y=\"\(y + 3)\" width=\"\(HTMLText.coord(max(w, item.value > 0 ? 2 : 0)))\" height=\"\(rowHeight - 6)\" fill=\"\(color)\"><title>\(HTMLText.escape(item.label)): \(item.value)</title></rect>"
            s +=
                "<text x=\"\(HTMLText.coord(Double(labelWidth) + w + 6))\" y=\"\(y + 15)\" font-size=\"13\">\(item.value)</text>"
        }
        if items.isEmpty { s += "<text x=\"0\" y=\"18\" font-size=\"13\">none</text>" }
        return s + "</svg>"
    }

    /// Vertical columns over a sequence (the weeks), labelled below with one or two lines.
    static func columns(
        _ items: [(label: String, sublabel: String, value: Int)], title: String, color: String = "#4a7bd0"
    ) -> String {
        let columnWidth = 52
        let chartHeight = 160
        let top = 20
        let bottom = 40
        let width = max(1, items.count) * columnWidth + 20
        let height = top + chartHeight + bottom
        let highest = max(1, items.map(\.value).max() ?? 1)
        var s =
            "<svg class=\"chart columns\" role=\"img\" aria-label=\"\(HTMLText.escape(title))\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" xmlns=\"http://www.w3.org/2000/svg\">"
        s += "<title>\(HTMLText.escape(title))</title>"
        s +=
            "<line x1=\"10\" y1=\"\(top + chartHeight)\" x2=\"\(width - 10)\" y2=\"\(top + chartHeight)\" stroke=\"#999\"/>"
        for (k, item) in items.enumerated() {
            let x = 10 + k * columnWidth
            let h = Double(chartHeight) * Double(item.value) / Double(highest)
            let y = Double(top + chartHeight) - h
            s +=
                "<rect x=\"\(x + 6)\" y=\"\(HTMLText.coord(y))\" width=\"\(columnWidth - 12)\" height=\"\(HTMLText.coord(h))\" fill=\"\(color)\"><title>\(HTMLText.escape(item.label)): \(item.value)</title></rect>"
            s +=
                "<text x=\"\(x + columnWidth / 2)\" y=\"\(HTMLText.coord(y - 4))\" font-size=\"12\" text-anchor=\"middle\">\(item.value)</text>"
            s +=
                "<text x=\"\(x + columnWidth / 2)\" y=\"\(top + chartHeight + 16)\" font-size=\"11\" text-anchor=\"middle\">\(HTMLText.escape(item.label))</text>"
            s +=
                "<text x=\"\(x + columnWidth / 2)\" y=\"\(top + chartHeight + 30)\" font-size=\"10\" fill=\"#666\" text-anchor=\"middle\">\(HTMLText.escape(item.sublabel))</text>"
        }
        return s + "</svg>"
    }

    /// An account's score over time (a step line: a score holds until the next record), the zone
    /// bands behind it, and a marker per alert at its time, coloured by severity.
    static func scoreLine(
        _ points: [ScorePoint], alerts: [BacktestAlert], from: Timestamp, to: Timestamp,
        healthyAt: Int, atRiskAt: Int, accountId: String
    ) -> String {
        let width = 760
        let height = 260
        let left = 36
        let right = 12
        let top = 10
        let bottom = 30
        let plotW = Double(width - left - right)
        let plotH = Double(height - top - bottom)
        let t0 = Double(from.millisecondsSinceEpoch)
        let span = max(1, Double(to.millisecondsSinceEpoch) - t0)
        func x(_ t: Timestamp) -> Double {
            Double(left) + plotW * min(1, max(0, (Double(t.millisecondsSinceEpoch) - t0) / span))
        }
        func y(_ score: Int) -> Double { Double(top) + plotH * (1 - Double(min(100, max(0, score))) / 100) }
        let label = "score of \(accountId) over time"
        var s =
            "<svg class=\"chart score\" data-account=\"\(HTMLText.escape(accountId))\" role=\"img\" aria-label=\"\(HTMLText.escape(label))\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" xmlns=\"http://www.w3.org/2000/svg\">"
        s += "<title>\(HTMLText.escape(label))</title>"
        // Zone bands.
        s +=
            "<rect x=\"\(left)\" y=\"\(HTMLText.coord(y(100)))\" width=\"\(HTMLText.coord(plotW))\" height=\"\(HTMLText.coord(y(healthyAt) - y(100)))\" fill=\"#e8f5e9\"/>"
        s +=
            "<rect x=\"\(left)\" y=\"\(HTMLText.coord(y(healthyAt)))\" width=\"\(HTMLText.coord(plotW))\" height=\"\(HTMLText.coord(y(atRiskAt) - y(healthyAt)))\" fill=\"#fff8e1\"/>"
        s +=
            "<rect x=\"\(left)\" y=\"\(HTMLText.coord(y(atRiskAt)))\" width=\"\(HTMLText.coord(plotW))\" height=\"\(HTMLText.coord(y(0) - y(atRiskAt)))\" fill=\"#ffebee\"/>"
        for v in [0, atRiskAt, healthyAt, 100] {
            s +=
                "<text x=\"\(left - 4)\" y=\"\(HTMLText.coord(y(v) + 4))\" font-size=\"11\" text-anchor=\"end\">\(v)</text>"
        }
        // Week ticks (Mondays).
        var week = ISOWeek(from)
        while week.start <= to {
            if week.start >= from {
                let wx = HTMLText.coord(x(week.start))
                s += "<line x1=\"\(wx)\" y1=\"\(top)\" x2=\"\(wx)\" y2=\"\(height - bottom)\" stroke=\"#ddd\"/>"
                s +=
                    "<text x=\"\(wx)\" y=\"\(height - bottom + 14)\" font-size=\"10\" text-anchor=\"middle\">\(week.start.dateString.dropFirst(5))</text>"
            }
            week = week.next
        }
        // The score as a step line.
        if !points.isEmpty {
            var path = "M\(HTMLText.coord(x(points[0].at))),\(HTMLText.coord(y(points[0].score)))"
            for p in points.dropFirst() {
                path += "H\(HTMLText.coord(x(p.at)))V\(HTMLText.coord(y(p.score)))"
            }
            path += "H\(HTMLText.coord(x(to)))"
            s += "<path class=\"score-line\" d=\"\(path)\" fill=\"none\" stroke=\"#1f3b73\" stroke-width=\"2\"/>"
        }
        // Alerts.
        for a in alerts {
            let ax = HTMLText.coord(x(a.raisedAt))
            let score = a.score ?? points.last(where: { $0.at <= a.raisedAt })?.score ?? 100
            let tip =
                "\(a.raisedAt.rfc3339) \(a.type.rawValue) \(a.severity.rawValue) \(a.priority) (\(a.rule)), score \(score)"
            s +=
                "<g class=\"alert-marker\" data-alert=\"\(HTMLText.escape(a.alertId))\" data-type=\"\(a.type.rawValue)\">"
            s +=
                "<line x1=\"\(ax)\" y1=\"\(top)\" x2=\"\(ax)\" y2=\"\(height - bottom)\" stroke=\"\(severityColor(a.severity))\" stroke-dasharray=\"3,3\"/>"
            s +=
                "<circle cx=\"\(ax)\" cy=\"\(HTMLText.coord(y(score)))\" r=\"6\" fill=\"\(severityColor(a.severity))\" stroke=\"#fff\" stroke-width=\"1.5\"><title>\(HTMLText.escape(tip))</title></circle></g>"
        }
        return s + "</svg>"
    }

    static func severityColor(_ s: Severity) -> String {
        switch s {
        case .critical: "#c62828"
        case .high: "#ef6c00"
        case .medium: "#f9a825"
        case .low: "#2e7d32"
        }
    }
}
