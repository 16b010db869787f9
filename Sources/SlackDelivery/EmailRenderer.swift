import Contracts

/// Renders alerts as emails (`EmailMessage`) for `email` destinations: the subject is the header
/// line, and the plain-text and HTML bodies are written from the same parts, with the same
/// templates (`header`, `text`, `why`, `next_step`) rendered once with `.plain` and once with
/// `.html` values (`TemplateFields.Style`), or the built-in words where a part has none. Pure.
///
/// Every value that comes from an event is escaped for HTML in the HTML part (`HTMLEscape`); the
/// words of a template are the team's own and are used as they are in both parts.
public struct EmailRenderer: Sendable {
    /// The Slack renderer styled for the destination: its currency, templates and limits.
    public var renderer: SlackMessageRenderer

    public init(renderer: SlackMessageRenderer) { self.renderer = renderer }

    /// The email for `alert` to `settings`' addresses, dated `now`.
    public func message(_ alert: AlertRecord, settings: EmailSettings, now: Timestamp) -> EmailMessage {
        message(AlertGroup(single: alert), settings: settings, now: now)
    }

    /// The email for `group` (one alert, or several about one account: the lead's message, then
    /// the others' header lines).
    public func message(_ group: AlertGroup, settings: EmailSettings, now: Timestamp) -> EmailMessage {
        let subject = subject(group)
        return EmailMessage(
            from: settings.from, to: settings.to, subject: subject, date: now,
            messageId: EmailMessage.messageId(alertIds: group.alertIds, domain: settings.from.domain),
            plain: plainBody(group, subject: subject), html: htmlBody(group, subject: subject))
    }

    /// The subject: the header line (the `header` template or the built-in), with "Not
    /// acknowledged: " before an escalation's.
    public func subject(_ group: AlertGroup) -> String {
        let lead = group.lead
        let header = group.alerts.count > 1 ? renderer.headerText(group) : renderer.headerText(lead)
        return SlackText.singleLine((lead.escalation == nil ? "" : "Not acknowledged: ") + header)
    }

    /// The `text/plain` part: the subject, then each part as a paragraph.
    func plainBody(_ group: AlertGroup, subject: String) -> String {
        let paragraphs = parts(group, style: .plain).map { $0.joined(separator: "\n") }
        return ([SlackText.singleLine(subject)] + paragraphs).joined(separator: "\n\n") + "\n"
    }

    /// The `text/html` part: a small HTML document, each part a paragraph.
    func htmlBody(_ group: AlertGroup, subject: String) -> String {
        let title = HTMLEscape.text(SlackText.singleLine(subject))
        var out = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>\(title)</title></head>\n"
        out += "<body style=\"font-family: sans-serif\">\n<h2>\(title)</h2>\n"
        for lines in parts(group, style: .html) {
            out += "<p>" + lines.joined(separator: "<br>\n") + "</p>\n"
        }
        out += "</body></html>\n"
        return out
    }

    /// The paragraphs of the message in `style` (`.plain` or `.html`), each a list of lines already
    /// written in that style.
    func parts(_ group: AlertGroup, style: TemplateFields.Style) -> [[String]] {
        let alert = group.lead
        let w = TemplateFields.Writer(style: style)
        var parts: [[String]] = []
        if alert.type == .digest {
            if let text = templated(.text, alert, style), !text.isEmpty { parts.append(text) }
            parts.append(digestLines(alert, w))
        } else {
            var lead = templated(.text, alert, style) ?? builtInLead(alert, w)
            if let e = alert.escalation {
                lead.append(
                    "\(bold("Escalation \(max(0, e.step)) of \(max(0, e.of))", w)): not acknowledged by \(w.date(e.dueAt))"
                )
            }
            if !lead.isEmpty { parts.append(lead) }
            let facts = facts(alert, w)
            if !facts.isEmpty { parts.append(facts) }
            if let why = templated(.why, alert, style) {
                if !why.isEmpty { parts.append(why) }
            } else if alert.type != .recovered {
                let signals = renderer.topSignals(alert).map { signal -> String in
                    let points = SlackMessageRenderer.shownPoints(signal.impact)
                    let text = w.text(signal.text)
                    return points == 0 ? "- \(text)" : "- \(text) (\(SlackMessageRenderer.impact(points)))"
                }
                if !signals.isEmpty {
                    let positive = alert.type == .expansionSignal || alert.type == .upsellOpportunity
                    parts.append([bold(positive ? "Why it looks like growth" : "Why", w)] + signals)
                }
            }
            if let next = templated(.nextStep, alert, style) {
                if !next.isEmpty { parts.append(next) }
            } else if let action = alert.suggestedAction, !action.isEmpty {
                parts.append(["\(bold("Next step:", w)) \(w.text(action))"])
            }
            if group.alerts.count > 1 {
                parts.append(
                    [bold("Also raised for this account", w)]
                        + group.alerts.dropFirst().map { "- " + w.text(renderer.headerText($0)) })
            }
            var links: [String] = []
            if let url = alert.score?.profile.url, let shown = w.url(url) {
                links.append("Account: " + (style == .html ? "<a href=\"\(shown)\">\(shown)</a>" : shown))
            }
            if let url = alert.playbookURL, let shown = w.url(url) {
                links.append("Playbook: " + (style == .html ? "<a href=\"\(shown)\">\(shown)</a>" : shown))
            }
            if let feedback = renderer.feedback {
                // The signed "Useful" / "Not useful" links of the Slack message, as links.
                for (verdict, url) in feedback.links(for: alert, deliveredAt: renderer.deliveredAt) {
                    guard let shown = w.url(url) else { continue }
                    let label = verdict == .useful ? "Useful" : "Not useful"
                    links.append(style == .html ? "<a href=\"\(shown)\">\(label)</a>" : "\(label): \(shown)")
                }
            }
            if !links.isEmpty { parts.append(links) }
        }
        var footer = "Raised \(w.date(alert.raisedAt))"
        if let rule = alert.rule, !rule.isEmpty { footer += " · Rule \(w.text(rule))" }
        footer += " · Alert " + group.alertIds.map(w.text).joined(separator: ", ")
        parts.append([footer])
        return parts
    }

    /// A part's template rendered in `style`, as lines (nil: no template; empty: leave it out).
    func templated(_ part: MessageTemplates.Part, _ alert: AlertRecord, _ style: TemplateFields.Style) -> [String]? {
        renderer.templated(part, alert, style: style).map(SlackMessageRenderer.lines)
    }

    /// The built-in opening lines: the account and what happened, and the business event.
    func builtInLead(_ alert: AlertRecord, _ w: TemplateFields.Writer) -> [String] {
        let name = SlackMessageRenderer.accountName(alert)
        let link = w.link(alert.score?.profile.url, label: name)
        if alert.type == .recovered {
            var line = "\(bold(link, w)) has recovered"
            if let s = alert.score {
                line += ": back to \(SlackMessageRenderer.zoneName(s.zone))"
                if let prev = s.previousZone, prev != s.zone {
                    line += " from \(SlackMessageRenderer.zoneName(prev).lowercased())"
                }
            }
            return [line]
        }
        var lines = ["\(bold(link, w)) · \(SlackMessageRenderer.title(alert.type))"]
        if let t = alert.trigger { lines.append(w.text(renderer.triggerSentence(t)) + " on " + w.date(t.occurredAt)) }
        return lines
    }

    /// Health, zone, severity and the account's facts, one per line.
    func facts(_ alert: AlertRecord, _ w: TemplateFields.Writer) -> [String] {
        var lines: [String] = []
        func fact(_ label: String, _ value: String) { lines.append("\(bold(label + ":", w)) \(value)") }
        if let s = alert.score {
            fact("Health", "\(s.score), \(ScoreChange.phrase(score: s.score, delta: s.delta, drop: alert.drop))")
            fact("Zone", SlackMessageRenderer.zoneText(s))
        }
        if alert.type != .recovered {
            fact("Severity", "\(alert.severity.rawValue.capitalized) · \(alert.priority)")
        }
        let p = alert.score?.profile
        if let m = p?.mrr { fact("MRR", renderer.currency.format(m, cents: false)) }
        if let t = p?.tier { fact("Tier", SlackMessageRenderer.tierName(t)) }
        if let o = alert.mention ?? p?.owner, !o.isEmpty { fact("Owner", w.mention(o)) }
        if let r = p?.renewalDate, !r.isEmpty { fact("Renewal", w.calendarDate(r)) }
        return lines
    }

    /// A digest's accounts, one line each, with "…and N more" past the renderer's limit.
    func digestLines(_ alert: AlertRecord, _ w: TemplateFields.Writer) -> [String] {
        let items = alert.digestItems ?? []
        if items.isEmpty { return ["No accounts in this digest."] }
        var lines: [String] = []
        for item in items.prefix(renderer.maxDigestItems) {
            let name = item.accountName.flatMap { $0.isEmpty ? nil : $0 } ?? item.accountId
            let change = ScoreChange.health(score: item.score, delta: item.delta, drop: item.drop)
            var line =
                "- \(bold(w.link(item.url, label: name), w)) · \(SlackMessageRenderer.title(item.type).lowercased()): \(change) · \(SlackMessageRenderer.zoneName(item.zone).lowercased())"
            if !item.headline.isEmpty { line += ": " + w.text(item.headline) }
            lines.append(line)
        }
        if items.count > renderer.maxDigestItems {
            let more = items.count - renderer.maxDigestItems
            lines.append("…and \(more) more account\(more == 1 ? "" : "s")")
        }
        return lines
    }

    /// `text` (already written in the style) in bold for HTML, as it is in plain text.
    func bold(_ text: String, _ w: TemplateFields.Writer) -> String {
        w.style == .html ? "<strong>\(text)</strong>" : text
    }
}
