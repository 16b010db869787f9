import Contracts

/// One Slack message for a group of alerts about one account: the header names the account and
/// every alert type (the most severe first), the account's facts appear once, then one section per
/// alert with its reasons and suggested action, the shared signals once, a button per playbook,
/// and a footer listing every alert id.
extension SlackMessageRenderer {
    /// The JSON body to POST for `group`. A group of one renders exactly like `render(_:)` of its alert.
    public func render(_ group: AlertGroup) -> [UInt8] {
        message(group).serialized()
    }

    func message(_ group: AlertGroup) -> JSONValue {
        guard group.alerts.count > 1 else { return message(group.lead) }
        let fallback = fallbackText(group)
        return .object([
            ("text", .string(fallback)),
            ("blocks", .array([header(headerText(group))])),
            (
                "attachments",
                .array([
                    .object([
                        ("color", .string(AlertColor.of(group).rawValue)),
                        ("fallback", .string(fallback)),
                        ("blocks", .array(groupBlocks(group))),
                    ])
                ])
            ),
        ])
    }

    /// The header line (raw), e.g. "Acme Corp: customer at risk, health score drop · health 53".
    public func headerText(_ group: AlertGroup) -> String {
        guard group.alerts.count > 1 else { return headerText(group.lead) }
        let name = Self.accountName(group.lead)
        var titles: [String] = []
        for a in group.alerts where !titles.contains(Self.title(a.type).lowercased()) {
            titles.append(Self.title(a.type).lowercased())
        }
        var raw = "\(name): \(titles.joined(separator: ", "))"
        if let s = Self.latestScore(group) { raw += " · health \(s.score)" }
        return raw
    }

    /// The plain notification text, escaped and at most `BlockKitLimits.fallbackText` long.
    public func fallbackText(_ group: AlertGroup) -> String {
        guard group.alerts.count > 1 else { return fallbackText(group.lead) }
        var raw = "\(group.priority) · \(group.severity.rawValue.capitalized) · \(headerText(group))"
        if let top = topSignals(group.lead).first { raw += ". \(top.text)" }
        return SlackText.escaped(SlackText.singleLine(raw), limit: BlockKitLimits.fallbackText)
    }

    /// The most recent score facts among the alerts (alerts of one evaluation share them).
    static func latestScore(_ group: AlertGroup) -> ScoreRecord? {
        group.alerts.compactMap(\.score).max { $0.validAt < $1.validAt }
    }

    func groupBlocks(_ group: AlertGroup) -> [JSONValue] {
        let lead = group.lead
        let score = Self.latestScore(group)
        var facts = lead
        facts.score = score ?? lead.score
        let link = SlackText.link(facts.score?.profile.url, label: Self.accountName(facts))
        var fields: [(String, String)] = []
        if let s = score {
            fields.append(("Health", "\(s.score), \(ScoreChange.phrase(score: s.score, delta: s.delta, drop: nil))"))
            fields.append(("Zone", Self.zoneText(s)))
        }
        fields.append(("Severity", "\(group.severity.rawValue.capitalized) · \(group.priority)"))
        fields += accountFields(facts)
        var blocks: [JSONValue] = [fieldsSection(lead: ["*\(link)* · \(group.alerts.count) alerts"], fields: fields)]

        // One section per alert, within the message's block budget (header, facts, signals,
        // buttons, footer and an overflow line take the rest).
        let room = BlockKitLimits.blocksPerMessage - 7
        for alert in group.alerts.prefix(room) { blocks.append(section(alertLines(alert))) }
        if group.alerts.count > room {
            let more = group.alerts.count - room
            blocks.append(context("…and \(more) more alert\(more == 1 ? "" : "s")"))
        }

        let risk = group.alerts.first { !Self.isPositive($0.type) && $0.type != .recovered && $0.score != nil }
        if let risk {
            let lines = signalLines(risk)
            if !lines.isEmpty { blocks.append(section(["*Why*"] + lines)) }
        }
        if let b = groupButtons(group, accountURL: facts.score?.profile.url) { blocks.append(b) }
        blocks.append(groupFooter(group))
        return blocks
    }

    static func isPositive(_ type: AlertType) -> Bool { type == .expansionSignal || type == .upsellOpportunity }

    /// "*Health score drop* · Medium · P3", then why it fired, then the suggested action.
    func alertLines(_ alert: AlertRecord) -> [String] {
        var lines = ["*\(Self.title(alert.type))* · \(alert.severity.rawValue.capitalized) · \(alert.priority)"]
        let s = alert.score
        switch alert.type {
        case .customerAtRisk:
            if let s {
                lines.append("*\(Self.zoneText(s))* at health \(s.score)")
            }
        case .healthScoreDrop:
            if let s {
                lines.append(
                    "Health \(s.score), \(ScoreChange.phrase(score: s.score, delta: s.delta, drop: alert.drop))")
            } else if let d = alert.drop {
                lines.append("Health \(ScoreChange.phrase(score: 0, delta: 0, drop: d))")
            }
        case .billingRetryFailed:
            if let t = alert.trigger { lines.append(triggerLine(t)) }
        case .expansionSignal, .upsellOpportunity:
            lines += signalLines(alert).prefix(3)
        case .recovered:
            if let s { lines.append("Back to *\(Self.zoneName(s.zone))* at health \(s.score)") }
        case .digest:
            break
        }
        if let a = alert.suggestedAction, !a.isEmpty {
            lines.append("*Next step:* " + SlackText.escaped(SlackText.singleLine(a), limit: 600))
        }
        return lines
    }

    /// "Open account", then one button per distinct playbook, named after its alert type.
    func groupButtons(_ group: AlertGroup, accountURL: String?) -> JSONValue? {
        var elements: [JSONValue] = []
        func button(_ label: String, _ url: String?, _ actionId: String, primary: Bool) {
            guard elements.count < BlockKitLimits.actionsElements,
                let b = linkButton(label, url, actionId, primary: primary)
            else { return }
            elements.append(b)
        }
        button("Open account", accountURL, "open_account", primary: true)
        var playbooks: [String] = []
        for a in group.alerts {
            guard let url = a.playbookURL, !playbooks.contains(url) else { continue }
            playbooks.append(url)
            button(
                "Playbook: \(Self.title(a.type).lowercased())", url, "open_playbook_\(playbooks.count)", primary: false)
        }
        guard !elements.isEmpty else { return nil }
        return .object([("type", .string("actions")), ("elements", .array(elements))])
    }

    /// When raised (in the reader's zone), the rules, and every alert id named by its type:
    /// "Raised <date> · Rules churn-risk, sharp-drop · Alerts: customer at risk a-1, health score drop a-2".
    func groupFooter(_ group: AlertGroup) -> JSONValue {
        let ids = group.alerts.map { "\(Self.title($0.type).lowercased()) \($0.alertId)" }.joined(separator: ", ")
        var rules: [String] = []
        for a in group.alerts { if let r = a.rule, !r.isEmpty, !rules.contains(r) { rules.append(r) } }
        var raw = ""
        if !rules.isEmpty { raw += " · Rules \(rules.joined(separator: ", "))" }
        raw += " · Alerts: \(ids)"
        let text = SlackText.escaped(SlackText.singleLine(raw), limit: BlockKitLimits.contextText - 100)
        return context("Raised \(SlackDate.mrkdwn(group.lead.raisedAt))\(text)")
    }
}

extension AlertColor {
    /// Colour for a group: the colour of its most severe alert.
    public static func of(_ group: AlertGroup) -> AlertColor {
        of(severity: group.alerts.map(\.severity).max() ?? group.severity)
    }
}
