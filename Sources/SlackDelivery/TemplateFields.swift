import Contracts

/// The fields a message template reads: one documented set, built from an alert (pure).
///
/// Each value is already written for where the text lands (`Style`): escaped Slack mrkdwn with
/// links, mentions and `<!date^…>` times; plain text (headers, notifications); or HTML (email).
/// A field the alert does not have is absent, so `{{#trigger}}…{{/trigger}}` shows only for an
/// alert raised by a business event.
public enum TemplateFields {
    /// How values are written for the text a template produces.
    public enum Style: Sendable {
        /// Slack mrkdwn: `&`, `<`, `>` escaped; links `<url|label>`, mentions `<@U…>`, times `<!date^…>`.
        case slack
        /// Plain text, nothing escaped: Slack headers and notifications (escaped later as a whole),
        /// the plain-text part of an email.
        case plain
        /// HTML: `& < > " '` escaped, links as `<a href>`, times in UTC.
        case html
    }

    /// One documented field: its path as a template writes it, and what it holds.
    public struct Field: Sendable {
        public var path: String
        public var meaning: String
    }

    /// Every field, in the order the docs list them. Items of a list are written below it
    /// (`signals.text` is `{{text}}` inside `{{#signals}}…{{/signals}}`).
    public static let catalogue: [Field] = [
        .init(
            path: "headline",
            meaning: "the fleet's own header line: \"Acme Corp is critical: health 32, down 18 from 50\""),
        .init(path: "next_step", meaning: "the rule's suggested action: \"Call the champion this week.\""),
        .init(
            path: "alert",
            meaning: "the alert (a section: always present, so `{{#alert}}…{{/alert}}` reads its fields by short name)"),
        .init(path: "alert.id", meaning: "the alert id a CSM quotes"),
        .init(path: "alert.type", meaning: "customer_at_risk, health_score_drop, billing_retry_failed, …"),
        .init(path: "alert.title", meaning: "the type in words: \"Customer at risk\""),
        .init(path: "alert.severity", meaning: "Critical, High, Medium or Low"),
        .init(path: "alert.priority", meaning: "P1 … P4"),
        .init(path: "alert.rule", meaning: "the rule that raised it"),
        .init(path: "alert.raised_at", meaning: "when it was raised (in the reader's zone in Slack, UTC elsewhere)"),
        .init(path: "alert.playbook_url", meaning: "the rule's playbook link"),
        .init(path: "account", meaning: "the account (a section: present for every single-account alert)"),
        .init(path: "account.id", meaning: "the account id"),
        .init(path: "account.name", meaning: "the display name, else the id"),
        .init(path: "account.link", meaning: "the name linked to the account's page when it has one"),
        .init(path: "account.url", meaning: "the account's page"),
        .init(path: "account.tier", meaning: "Enterprise, Mid-market or SMB"),
        .init(path: "account.mrr", meaning: "MRR in the destination's currency: \"$12,400\""),
        .init(path: "account.owner", meaning: "the owner (a Slack mention when it is a Slack user id)"),
        .init(path: "account.renewal", meaning: "the renewal date"),
        .init(path: "score", meaning: "the health score (a section: absent on digests)"),
        .init(path: "score.value", meaning: "the score, 0-100"),
        .init(path: "score.previous", meaning: "the score before"),
        .init(path: "score.delta", meaning: "the change, signed: \"-18\""),
        .init(path: "score.change", meaning: "\"health 32, down 18 from 50\" (a drop rule's window: \"… in 7 days\")"),
        .init(path: "score.phrase", meaning: "\"down 18 from 50\""),
        .init(path: "score.zone", meaning: "Healthy, At risk or Critical"),
        .init(path: "score.previous_zone", meaning: "the zone before, when it changed"),
        .init(path: "signals", meaning: "the signals behind the score, strongest first (a list)"),
        .init(path: "signals.text", meaning: "the reason in words: \"Logins down 62% vs 28-day baseline\""),
        .init(path: "signals.points", meaning: "its weight in points, signed: \"-12\""),
        .init(path: "signals.impact", meaning: "its weight in words: \"cost 12 points\""),
        .init(path: "trigger", meaning: "the business event that raised the alert (a section)"),
        .init(path: "trigger.text", meaning: "\"Billing retry failed for $1,240.00 (ref in-9) on <date>\""),
        .init(path: "trigger.type", meaning: "payment_failed, billing_retry_failed, subscription_cancelled, …"),
        .init(path: "trigger.amount", meaning: "the amount with its currency"),
        .init(path: "trigger.ref", meaning: "the invoice or payment reference"),
        .init(path: "escalation", meaning: "present when nobody acknowledged in time (a section)"),
        .init(path: "escalation.step", meaning: "this step's number"),
        .init(path: "escalation.of", meaning: "how many steps the chain has"),
        .init(path: "escalation.due", meaning: "when the acknowledgement was due"),
        .init(path: "digest", meaning: "a digest's content (a section: digests only)"),
        .init(path: "digest.title", meaning: "the digest's title"),
        .init(path: "digest.count", meaning: "how many accounts it lists"),
        .init(path: "digest.items", meaning: "its accounts (a list)"),
        .init(path: "digest.items.name", meaning: "an account's name"),
        .init(path: "digest.items.link", meaning: "the name linked to its page"),
        .init(path: "digest.items.title", meaning: "what was raised: \"Health score drop\""),
        .init(path: "digest.items.change", meaning: "\"health 53, down 6 from 59\""),
        .init(path: "digest.items.zone", meaning: "its zone"),
        .init(path: "digest.items.headline", meaning: "its top signal"),
    ]

    /// The field table of docs/templates.md, generated from `catalogue` (a test keeps them equal).
    public static func markdownTable() -> String {
        var out = "| field | holds |\n|---|---|\n"
        for f in catalogue { out += "| `\(f.path)` | \(f.meaning.replacingOccurrences(of: "|", with: "\\|")) |\n" }
        return out
    }

    /// The paths of `catalogue`, for checking templates.
    public static let paths: Set<String> = Set(catalogue.map(\.path))

    /// The fields that are lists of items (a section repeats for each).
    public static let lists: Set<String> = Set(catalogue.filter { $0.meaning.hasSuffix("(a list)") }.map(\.path))

    /// The fields that hold other fields (objects and lists): read through their fields.
    public static let parents: Set<String> = Set(
        catalogue.map(\.path).filter { path in catalogue.contains { $0.path.hasPrefix(path + ".") } })

    /// The fields of `alert`, written in `style`; amounts in `renderer`'s currency where the
    /// record names none, and `headline` as the renderer writes it.
    public static func values(of alert: AlertRecord, style: Style, renderer: SlackMessageRenderer) -> [String: Any] {
        let w = Writer(style: style)
        let name = SlackMessageRenderer.accountName(alert)
        var top: [String: Any] = [
            "headline": w.text(renderer.defaultHeaderText(alert)),
            "alert": compact([
                "id": w.text(alert.alertId),
                "type": alert.type.rawValue,
                "title": SlackMessageRenderer.title(alert.type),
                "severity": alert.severity.rawValue.capitalized,
                "priority": "\(alert.priority)",
                "rule": alert.rule.map(w.text),
                "raised_at": w.date(alert.raisedAt),
                "playbook_url": alert.playbookURL.flatMap(w.url),
            ]),
        ]
        if let a = alert.suggestedAction, !a.isEmpty { top["next_step"] = w.text(a) }
        if alert.type != .digest {
            let p = alert.score?.profile
            let owner = alert.mention ?? p?.owner
            top["account"] = compact([
                "id": w.text(alert.accountId),
                "name": w.text(name),
                "link": w.link(p?.url, label: name),
                "url": p?.url.flatMap(w.url),
                "tier": p?.tier.map(SlackMessageRenderer.tierName),
                "mrr": p?.mrr.map { renderer.currency.format($0, cents: false) },
                "owner": owner.flatMap { $0.isEmpty ? nil : w.mention($0) },
                "renewal": p?.renewalDate.flatMap { $0.isEmpty ? nil : w.calendarDate($0) },
            ])
        }
        if let s = alert.score {
            top["score"] = compact([
                "value": "\(s.score)",
                "previous": "\(s.previousScore)",
                "delta": SlackMessageRenderer.signed(s.delta),
                "change": SlackMessageRenderer.health(alert, s),
                "phrase": ScoreChange.phrase(score: s.score, delta: s.delta, drop: alert.drop),
                "zone": SlackMessageRenderer.zoneName(s.zone),
                "previous_zone": s.previousZone.flatMap { $0 == s.zone ? nil : SlackMessageRenderer.zoneName($0) },
            ])
            let signals = renderer.topSignals(alert).map { signal -> [String: Any] in
                let points = SlackMessageRenderer.shownPoints(signal.impact)
                return [
                    "text": w.text(signal.text), "points": SlackMessageRenderer.signed(points),
                    "impact": SlackMessageRenderer.impact(points),
                ]
            }
            if !signals.isEmpty { top["signals"] = signals }
        }
        if let t = alert.trigger {
            top["trigger"] = compact([
                "text": w.text(renderer.triggerSentence(t)) + " on " + w.date(t.occurredAt),
                "type": t.type.rawValue,
                "amount": t.amount.map { renderer.amountText($0, currency: t.currency) }.map(w.text),
                "ref": t.ref.flatMap { $0.isEmpty ? nil : w.text($0) },
            ])
        }
        if let e = alert.escalation {
            top["escalation"] = ["step": "\(max(0, e.step))", "of": "\(max(0, e.of))", "due": w.date(e.dueAt)]
        }
        if alert.type == .digest {
            let items = (alert.digestItems ?? []).prefix(renderer.maxDigestItems).map { item -> [String: Any] in
                let itemName = item.accountName.flatMap { $0.isEmpty ? nil : $0 } ?? item.accountId
                return [
                    "name": w.text(itemName), "link": w.link(item.url, label: itemName),
                    "title": SlackMessageRenderer.title(item.type),
                    "change": ScoreChange.health(score: item.score, delta: item.delta, drop: item.drop),
                    "zone": SlackMessageRenderer.zoneName(item.zone), "headline": w.text(item.headline),
                ]
            }
            top["digest"] = compact([
                "title": alert.digestTitle.flatMap { $0.isEmpty ? nil : w.text($0) },
                "count": "\(alert.digestItems?.count ?? 0)", "items": items,
            ])
        }
        return top
    }

    /// A mapping without its absent values (Mustache treats a missing key as false).
    static func compact(_ entries: [String: Any?]) -> [String: Any] { entries.compactMapValues { $0 } }

    /// Writes values in one `Style`. Event text is made single-line and bounded (a value can never
    /// carry a template's worth of text into a message).
    struct Writer {
        var style: Style
        static let longestValue = 400

        func text(_ raw: String) -> String {
            let line = SlackText.singleLine(raw)
            switch style {
            case .slack: return SlackText.escaped(line, limit: Self.longestValue)
            case .plain: return String(line.prefix(Self.longestValue))
            case .html: return HTMLEscape.text(String(line.prefix(Self.longestValue)))
            }
        }

        func url(_ raw: String) -> String? {
            guard SlackText.isSafeURL(raw) else { return nil }
            return style == .plain
                ? raw : (style == .html ? HTMLEscape.text(raw) : raw.replacingOccurrences(of: "&", with: "&amp;"))
        }

        func link(_ url: String?, label: String) -> String {
            switch style {
            case .slack: return SlackText.link(url, label: label)
            case .plain: return text(label)
            case .html:
                guard let url, let href = self.url(url) else { return text(label) }
                return "<a href=\"\(href)\">\(text(label))</a>"
            }
        }

        func date(_ t: Timestamp) -> String { style == .slack ? SlackDate.mrkdwn(t) : SlackDate.utcText(t) }

        func calendarDate(_ raw: String) -> String {
            if style == .slack, let d = SlackDate.mrkdwn(calendarDate: raw) { return d }
            return text(String(raw.prefix(40)))
        }

        func mention(_ owner: String) -> String {
            if style == .slack, let m = SlackText.mention(owner) { return m }
            return text(String(owner.prefix(100)))
        }
    }
}
