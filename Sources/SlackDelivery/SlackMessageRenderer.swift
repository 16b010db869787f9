import Contracts

/// Renders an `alerts` record as a Slack incoming-webhook body: a plain `text` fallback for
/// notifications, a header block, and the details as Block Kit inside one attachment whose
/// sidebar colour gives the severity at a glance. Pure: no I/O, same alert gives same bytes.
///
/// Every limit of Block Kit is respected by cutting cleanly (see `BlockKitLimits`), and all text
/// that comes from events is escaped.
public struct SlackMessageRenderer: Sendable {
    /// How many signals a risk or expansion alert lists.
    public var maxSignals: Int
    /// How many digest lines are shown before "…and N more".
    public var maxDigestItems: Int
    /// When set, every single-account alert carries "Useful" / "Not useful" link buttons to signed
    /// feedback URLs (see `FeedbackLinkSigner`); digests carry none.
    public var feedback: FeedbackLinkSigner?
    /// When the message is posted (the deliverer sets it): feedback links work from the start of
    /// that UTC day at the latest (`FeedbackLinkSigner.links(for:deliveredAt:)`).
    public var deliveredAt: Timestamp?
    /// When set, every single-account alert but a recovery carries the lifecycle buttons
    /// (`AlertActionsBlock`: acknowledge, take, snooze, resolve), answered at `/slack/actions`.
    public var actions: AlertActionsBlock?

    /// The currency of amounts whose record names none (MRR always; an invoice without a
    /// currency): the destination's `currency` setting, USD by default.
    public var currency: Currency

    /// The destination's own wording of message parts (its `templates`); empty by default.
    public var templates = MessageTemplates()

    public init(
        maxSignals: Int = 5, maxDigestItems: Int = 40, feedback: FeedbackLinkSigner? = nil, currency: Currency = .usd
    ) {
        self.maxSignals = maxSignals
        self.maxDigestItems = min(maxDigestItems, BlockKitLimits.blocksPerMessage - 4)
        self.feedback = feedback
        self.currency = currency
    }

    /// This renderer with `destination`'s message settings (its currency and templates).
    public func styled(for destination: Destination) -> SlackMessageRenderer {
        var copy = self
        copy.currency = destination.currency
        copy.templates = destination.templates
        return copy
    }

    /// The JSON body to POST to a Slack incoming webhook.
    public func render(_ alert: AlertRecord) -> [UInt8] {
        message(alert).serialized()
    }

    func message(_ alert: AlertRecord) -> JSONValue {
        let details: [JSONValue]
        switch alert.type {
        case .digest: details = digestBlocks(alert)
        case .recovered: details = recoveredBlocks(alert)
        case .expansionSignal, .upsellOpportunity: details = accountBlocks(alert, positive: true)
        case .customerAtRisk, .healthScoreDrop, .billingRetryFailed: details = accountBlocks(alert, positive: false)
        }
        let color = (Self.isClosed(alert) ? AlertColor.closed : AlertColor.of(alert)).rawValue
        let fallback = fallbackText(alert)
        var top = [header((alert.escalation == nil ? "" : "Not acknowledged: ") + headerText(alert))]
        if let update = alert.update { top.append(context(stateLine(update))) }
        return .object([
            ("text", .string(fallback)),
            ("blocks", .array(top)),
            (
                "attachments",
                .array([
                    .object([
                        ("color", .string(color)),
                        ("fallback", .string(fallback)),
                        ("blocks", .array(Array(details.prefix(BlockKitLimits.blocksPerMessage - 1)))),
                    ])
                ])
            ),
        ])
    }

    // MARK: - Texts

    /// The account's display name (raw, unescaped).
    static func accountName(_ alert: AlertRecord) -> String {
        if let n = alert.score?.profile.name, !n.isEmpty { return n }
        return alert.accountId
    }

    static func signed(_ n: Int) -> String { n > 0 ? "+\(n)" : "\(n)" }

    /// How the score moved, in the one wording of `ScoreChange`: "health 31, down 50 from 81", or
    /// for a drop alert the drop over its rule's window ("health 53, down 26 from 79 in 7 days").
    static func health(_ alert: AlertRecord, _ s: ScoreRecord) -> String {
        ScoreChange.health(score: s.score, delta: s.delta, drop: alert.drop)
    }

    /// The header line (raw, before escaping): the destination's `header` template if it has one,
    /// else the account and what happened, e.g. "Acme Corp is critical: health 32, down 18 from 50".
    public func headerText(_ alert: AlertRecord) -> String {
        if let text = templated(.header, alert, style: .plain), !text.isEmpty { return SlackText.singleLine(text) }
        return defaultHeaderText(alert)
    }

    /// The built-in header line (raw): the account and what happened.
    func defaultHeaderText(_ alert: AlertRecord) -> String {
        let name = Self.accountName(alert)
        let s = alert.score
        switch alert.type {
        case .digest:
            if let t = alert.digestTitle, !t.isEmpty { return t }
            let n = alert.digestItems?.count ?? 0
            return "Digest: \(n) account\(n == 1 ? "" : "s")"
        case .recovered:
            guard let s else { return "\(name) recovered" }
            return "\(name) recovered: \(Self.health(alert, s))"
        case .expansionSignal, .upsellOpportunity:
            let what = alert.type == .expansionSignal ? "expansion signal" : "upsell opportunity"
            guard let s else { return "\(name): \(what)" }
            return "\(name): \(what), \(Self.health(alert, s))"
        case .customerAtRisk:
            let what = s?.zone == .critical ? "is critical" : "is at risk"
            guard let s else { return "\(name) \(what)" }
            return "\(name) \(what): \(Self.health(alert, s))"
        case .healthScoreDrop:
            guard let s else { return "\(name): health dropped" }
            return "\(name): \(Self.health(alert, s))"
        case .billingRetryFailed:
            var raw = "\(name): billing retry failed"
            if let t = alert.trigger, let a = t.amount { raw += " for \(amountText(a, currency: t.currency))" }
            if let s { raw += ", \(Self.health(alert, s))" }
            return raw
        }
    }

    /// An amount with its currency: the record's own if it names a valid one, else this
    /// renderer's (the destination's); a record's unknown currency text is shown after the digits.
    func amountText(_ amount: Double, currency code: String?) -> String {
        guard let code, !code.isEmpty else { return currency.format(amount, cents: true) }
        if let c = Currency(code: code) { return c.format(amount, cents: true) }
        return "\(Self.grouped(amount, decimals: true)) \(code.prefix(12))"
    }

    /// The plain notification text, escaped and at most `BlockKitLimits.fallbackText` long, e.g.
    /// "P2 · Critical · Acme Corp is critical: health 32, down 18 from 50. Logins down 62%".
    public func fallbackText(_ alert: AlertRecord) -> String {
        var raw = "\(alert.priority) · \(alert.severity.rawValue.capitalized) · \(headerText(alert))"
        if alert.type == .digest {
            if let first = alert.digestItems?.first {
                raw += ". \(first.accountName ?? first.accountId): \(first.headline)"
            }
        } else if let top = topSignals(alert).first {
            raw += ". \(top.text)"
        }
        return SlackText.escaped(SlackText.singleLine(raw), limit: BlockKitLimits.fallbackText)
    }

    static func title(_ type: AlertType) -> String {
        switch type {
        case .customerAtRisk: "Customer at risk"
        case .healthScoreDrop: "Health score drop"
        case .billingRetryFailed: "Billing retry failed"
        case .expansionSignal: "Expansion signal"
        case .upsellOpportunity: "Upsell opportunity"
        case .recovered: "Recovered"
        case .digest: "Digest"
        }
    }

    static func zoneName(_ z: Zone) -> String {
        switch z {
        case .healthy: "Healthy"
        case .atRisk: "At risk"
        case .critical: "Critical"
        }
    }

    static func tierName(_ t: Tier) -> String {
        switch t {
        case .enterprise: "Enterprise"
        case .midMarket: "Mid-market"
        case .smb: "SMB"
        }
    }

    /// The magnitude from which amounts are no longer shown with grouped digits: 2^53, where
    /// doubles stop holding every whole number; far beyond any real MRR or invoice.
    static let largestGroupedAmount = 9_007_199_254_740_992.0

    /// 12400.0 -> "12,400"; fractional amounts keep two decimals: "1,200.50". Total, for any value
    /// a record carries: at or beyond `largestGroupedAmount` in magnitude the value is shown in
    /// Swift's plain form ("1e+17", "-9.3e+18"), NaN and infinities as "?", and a value shown as
    /// zero has no sign ("0", "0.00" for -0.001).
    static func grouped(_ value: Double, decimals: Bool) -> String {
        guard value.isFinite else { return "?" }
        guard abs(value) < largestGroupedAmount else { return "\(value)" }
        // Exact below 2^53: the whole part converts exactly, the fraction is rounded to cents.
        let magnitude = abs(value)
        let wholePart = magnitude.rounded(.down)
        var whole = Int64(wholePart)
        var cents = Int64(((magnitude - wholePart) * 100).rounded())
        if cents == 100 {
            whole += 1
            cents = 0
        }
        let negative = value < 0 && (whole > 0 || (decimals && cents > 0))
        var digits = String(whole)
        var groups: [Substring] = []
        while digits.count > 3 {
            groups.insert(Substring(digits.suffix(3)), at: 0)
            digits.removeLast(3)
        }
        groups.insert(Substring(digits), at: 0)
        var out = (negative ? "-" : "") + groups.joined(separator: ",")
        if decimals { out += "." + (cents < 10 ? "0\(cents)" : "\(cents)") }
        return out
    }

    func topSignals(_ alert: AlertRecord) -> [Signal] {
        guard let s = alert.score, alert.type != .recovered else { return [] }
        let positive = alert.type == .expansionSignal || alert.type == .upsellOpportunity
        return Array((positive ? s.positiveSignals : s.signals).prefix(maxSignals))
    }

    // MARK: - Blocks

    func header(_ raw: String) -> JSONValue {
        .object([
            ("type", .string("header")),
            ("text", plain(SlackText.escaped(SlackText.singleLine(raw), limit: BlockKitLimits.headerText))),
        ])
    }

    func plain(_ text: String) -> JSONValue {
        .object([("type", .string("plain_text")), ("text", .string(text.isEmpty ? " " : text)), ("emoji", .bool(true))])
    }

    func mrkdwn(_ text: String) -> JSONValue {
        .object([("type", .string("mrkdwn")), ("text", .string(text.isEmpty ? " " : text))])
    }

    func section(_ lines: [String]) -> JSONValue {
        .object([
            ("type", .string("section")),
            ("text", mrkdwn(SlackText.fitMarkup(lines, limit: BlockKitLimits.sectionText))),
        ])
    }

    func fieldsSection(lead: [String], fields: [(String, String)]) -> JSONValue {
        var entries: [(String, JSONValue)] = [("type", .string("section"))]
        if !lead.isEmpty {
            entries.append(("text", mrkdwn(SlackText.fitMarkup(lead, limit: BlockKitLimits.sectionText))))
        }
        let f = fields.prefix(BlockKitLimits.sectionFields).map { title, value in
            mrkdwn(SlackText.fitMarkup(["*\(title)*", value], limit: BlockKitLimits.fieldText))
        }
        if !f.isEmpty { entries.append(("fields", .array(Array(f)))) }
        return .object(entries)
    }

    func context(_ text: String) -> JSONValue {
        .object([
            ("type", .string("context")),
            ("elements", .array([mrkdwn(SlackText.fitMarkup([text], limit: BlockKitLimits.contextText))])),
        ])
    }

    /// A link button (Block Kit `button` with a `url`), or nil for a missing or unsafe URL.
    func linkButton(_ label: String, _ url: String?, _ actionId: String, primary: Bool) -> JSONValue? {
        guard let url, SlackText.isSafeURL(url) else { return nil }
        var e: [(String, JSONValue)] = [
            ("type", .string("button")),
            ("text", plain(SlackText.escaped(label, limit: BlockKitLimits.buttonText))),
            ("url", .string(url)),
            ("action_id", .string(actionId)),
        ]
        if primary { e.append(("style", .string("primary"))) }
        return .object(e)
    }

    func buttons(_ alert: AlertRecord) -> JSONValue? {
        var elements: [JSONValue] = []
        func button(_ label: String, _ url: String?, _ actionId: String, primary: Bool) {
            if let b = linkButton(label, url, actionId, primary: primary) { elements.append(b) }
        }
        button("Open account", alert.score?.profile.url, "open_account", primary: true)
        button("Open playbook", alert.playbookURL, "open_playbook", primary: false)
        guard !elements.isEmpty else { return nil }
        return .object([("type", .string("actions")), ("elements", .array(elements))])
    }

    /// "Useful" / "Not useful" link buttons to the alert's signed feedback URLs, if configured.
    func feedbackButtons(_ alert: AlertRecord) -> JSONValue? {
        guard let feedback, alert.type != .digest else { return nil }
        let elements = feedback.links(for: alert, deliveredAt: deliveredAt).compactMap { verdict, url in
            linkButton(
                verdict == .useful ? "Useful" : "Not useful", url, "feedback_\(verdict.rawValue)", primary: false)
        }
        guard !elements.isEmpty else { return nil }
        return .object([
            ("type", .string("actions")), ("block_id", .string("feedback")), ("elements", .array(elements)),
        ])
    }

    /// "Raised <date> · Rule churn-risk · Alert a-123": when (in the reader's zone), why, and the
    /// id a CSM quotes when asking about it.
    func footer(_ alert: AlertRecord) -> JSONValue {
        var raw = ""
        if let rule = alert.rule, !rule.isEmpty { raw += " · Rule \(rule)" }
        raw += " · Alert \(alert.alertId)"
        let text = SlackText.escaped(SlackText.singleLine(raw), limit: BlockKitLimits.contextText - 100)
        return context("Raised \(SlackDate.mrkdwn(alert.raisedAt))\(text)")
    }

    /// Owner, MRR, tier, renewal: the account facts shared by all single-account layouts.
    func accountFields(_ alert: AlertRecord) -> [(String, String)] {
        var fields: [(String, String)] = []
        let p = alert.score?.profile
        if let m = p?.mrr { fields.append(("MRR", currency.format(m, cents: false))) }
        if let t = p?.tier { fields.append(("Tier", Self.tierName(t))) }
        let ownerId = alert.mention ?? p?.owner
        if let mention = SlackText.mention(ownerId) {
            fields.append(("Owner", mention))
        } else if let o = ownerId, !o.isEmpty {
            fields.append(("Owner", SlackText.escaped(SlackText.singleLine(o), limit: 100)))
        }
        if let r = p?.renewalDate, !r.isEmpty {
            fields.append(
                ("Renewal", SlackDate.mrkdwn(calendarDate: r) ?? SlackText.escaped(SlackText.singleLine(r), limit: 40)))
        }
        return fields
    }

    /// The most points a signal line shows: a signal's impact is in points of the 0-100 score, so
    /// an impact beyond the scale (a hostile record) is shown as ±100.
    static let largestShownImpact = 100.0

    /// A signal's part of the score in words: "cost 12 points", "added 1 point".
    static func impact(_ points: Int) -> String {
        let n = points.magnitude
        return "\(points < 0 ? "cost" : "added") \(n) point\(n == 1 ? "" : "s")"
    }

    /// A signal's impact in whole points as shown: clamped to ±`largestShownImpact`, 0 if not finite.
    static func shownPoints(_ impact: Double) -> Int {
        let limit = largestShownImpact
        return impact.isFinite ? Int(min(limit, max(-limit, impact)).rounded()) : 0
    }

    func signalLines(_ alert: AlertRecord) -> [String] {
        topSignals(alert).map { s in
            let pts = Self.shownPoints(s.impact)
            let text = SlackText.escaped(SlackText.singleLine(s.text), limit: 400)
            return pts == 0 ? "• \(text)" : "• \(text) (\(Self.impact(pts)))"
        }
    }

    /// The business event as a sentence, e.g. "Billing retry failed for $1,200.50 (ref in-123) on
    /// <date>".
    func triggerLine(_ t: Trigger) -> String {
        SlackText.escaped(SlackText.singleLine(triggerSentence(t)), limit: 500)
            + " on \(SlackDate.mrkdwn(t.occurredAt))"
    }

    /// The business event in words, raw and without its time: "Billing retry failed for $1,200.50 (ref in-123)".
    func triggerSentence(_ t: Trigger) -> String {
        var raw: String
        switch t.type {
        case .paymentFailed: raw = "Payment failed"
        case .billingRetryFailed: raw = "Billing retry failed"
        case .subscriptionCancelled: raw = "Subscription cancelled"
        case .championLeft: raw = "Champion left"
        case .seatsChanged: raw = "Seats changed"
        }
        if let a = t.amount { raw += " for \(amountText(a, currency: t.currency))" }
        if let b = t.seatsBefore, let a = t.seatsAfter { raw += " from \(b) to \(a) seats" }
        if let r = t.ref, !r.isEmpty { raw += " (ref \(r))" }
        return raw
    }

    /// The zone for people: "Critical, was at risk" when it changed, else "Critical".
    static func zoneText(_ s: ScoreRecord) -> String {
        var zone = zoneName(s.zone)
        if let prev = s.previousZone, prev != s.zone { zone += ", was \(zoneName(prev).lowercased())" }
        return zone
    }

    /// The suggested action as the next step, one sentence: "*Next step:* Call the champion."
    static func nextStep(_ action: String?) -> String? {
        guard let a = action, !a.isEmpty else { return nil }
        return "*Next step:* " + SlackText.escaped(SlackText.singleLine(a), limit: BlockKitLimits.sectionText - 30)
    }

    func accountBlocks(_ alert: AlertRecord, positive: Bool) -> [JSONValue] {
        let name = Self.accountName(alert)
        let link = SlackText.link(alert.score?.profile.url, label: name)
        var lead = ["*\(link)* · \(Self.title(alert.type))"]
        var fields: [(String, String)] = []
        if let s = alert.score {
            fields.append(
                ("Health", "\(s.score), \(ScoreChange.phrase(score: s.score, delta: s.delta, drop: alert.drop))"))
            fields.append(("Zone", Self.zoneText(s)))
        }
        fields.append(("Severity", "\(alert.severity.rawValue.capitalized) · \(alert.priority)"))
        fields += accountFields(alert)
        if let t = alert.trigger { lead.append(triggerLine(t)) }
        if let text = templated(.text, alert, style: .slack) { lead = Self.lines(text) }
        if let e = alert.escalation { lead.append(escalationLine(e)) }
        var blocks: [JSONValue] = [fieldsSection(lead: lead, fields: fields)]
        if let why = templated(.why, alert, style: .slack) {
            if !why.isEmpty { blocks.append(section(Self.lines(why))) }
        } else {
            let signals = signalLines(alert)
            if !signals.isEmpty {
                blocks.append(section([positive ? "*Why it looks like growth*" : "*Why*"] + signals))
            }
        }
        if let next = nextStepLine(alert) { blocks.append(section(next)) }
        if let b = buttons(alert) { blocks.append(b) }
        if !Self.isClosed(alert), let a = actions?.block(for: alert) { blocks.append(a) }
        if let f = feedbackButtons(alert) { blocks.append(f) }
        blocks.append(footer(alert))
        return blocks
    }

    /// The next-step lines: the destination's `next_step` template, else "*Next step:* <action>";
    /// nil when there is none (no action, or a template that renders nothing).
    func nextStepLine(_ alert: AlertRecord) -> [String]? {
        if let text = templated(.nextStep, alert, style: .slack) { return text.isEmpty ? nil : Self.lines(text) }
        return Self.nextStep(alert.suggestedAction).map { [$0] }
    }

    /// "*Escalation 1 of 3*: not acknowledged by <date> · @manager": an alert nobody acknowledged
    /// within its response SLA (issue 24), naming the chain step's people.
    func escalationLine(_ e: AlertEscalation) -> String {
        var line = "*Escalation \(max(0, e.step)) of \(max(0, e.of))*: not acknowledged by \(SlackDate.mrkdwn(e.dueAt))"
        let mentions = e.mentions.prefix(10).compactMap { SlackText.mention($0) }
        if !mentions.isEmpty { line += " · " + mentions.joined(separator: " ") }
        return line
    }

    func recoveredBlocks(_ alert: AlertRecord) -> [JSONValue] {
        let name = Self.accountName(alert)
        let link = SlackText.link(alert.score?.profile.url, label: name)
        var lead = "*\(link)* has recovered"
        var fields: [(String, String)] = []
        if let s = alert.score {
            lead += ": back to *\(Self.zoneName(s.zone))*"
            if let prev = s.previousZone, prev != s.zone { lead += " from \(Self.zoneName(prev).lowercased())" }
            fields.append(("Health", "\(s.score), \(ScoreChange.phrase(score: s.score, delta: s.delta, drop: nil))"))
        }
        fields += accountFields(alert)
        let leadLines = templated(.text, alert, style: .slack).map(Self.lines) ?? [lead]
        var blocks: [JSONValue] = [fieldsSection(lead: leadLines, fields: fields)]
        if let next = nextStepLine(alert) { blocks.append(section(next)) }
        if let b = buttons(alert) { blocks.append(b) }
        if let f = feedbackButtons(alert) { blocks.append(f) }
        blocks.append(footer(alert))
        return blocks
    }

    func digestBlocks(_ alert: AlertRecord) -> [JSONValue] {
        let items = alert.digestItems ?? []
        var blocks: [JSONValue] = []
        if let text = templated(.text, alert, style: .slack), !text.isEmpty { blocks.append(section(Self.lines(text))) }
        for item in items.prefix(maxDigestItems) {
            let name = item.accountName.flatMap { $0.isEmpty ? nil : $0 } ?? item.accountId
            let change = ScoreChange.health(score: item.score, delta: item.delta, drop: item.drop)
            let line1 =
                "*\(SlackText.link(item.url, label: name))* · \(Self.title(item.type).lowercased()): \(change) · \(Self.zoneName(item.zone).lowercased())"
            let line2 = SlackText.escaped(SlackText.singleLine(item.headline), limit: 500)
            blocks.append(section(item.headline.isEmpty ? [line1] : [line1, line2]))
        }
        if items.count > maxDigestItems {
            let more = items.count - maxDigestItems
            blocks.append(context("…and \(more) more account\(more == 1 ? "" : "s")"))
        }
        if items.isEmpty { blocks.append(section(["No accounts in this digest."])) }
        blocks.append(footer(alert))
        return blocks
    }
}
