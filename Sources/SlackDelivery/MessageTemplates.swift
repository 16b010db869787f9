import Contracts

/// A destination's own wording: Mustache templates for parts of a message, per alert type, with
/// `default` for the types not named (the destinations file's `templates`).
///
/// The layout stays the fleet's (fields, buttons, footer, colour); a template replaces the words of
/// one part. A part without a template keeps the built-in text, and a template that renders to
/// nothing but spaces leaves its part out of the message.
public struct MessageTemplates: Sendable, Hashable {
    /// The parts of a message a template can word.
    public enum Part: String, Sendable, Hashable, CaseIterable {
        /// The header line (plain text, at most 150 characters), also the start of the notification.
        case header
        /// The opening lines above the fields (mrkdwn): by default the linked name, the alert's
        /// title and the business event.
        case text
        /// The section listing the signals (mrkdwn): by default "*Why*" and one line per signal.
        case why
        /// The next-step line (mrkdwn): by default "*Next step:* " and the rule's action.
        case nextStep = "next_step"
    }

    /// The key for the types without their own entry.
    public static let defaultKey = "default"

    /// Templates of each part, by alert type.
    public var byType: [AlertType: [Part: MessageTemplate]]
    /// Templates for the types `byType` does not name.
    public var fallback: [Part: MessageTemplate]

    public init(byType: [AlertType: [Part: MessageTemplate]] = [:], fallback: [Part: MessageTemplate] = [:]) {
        self.byType = byType
        self.fallback = fallback
    }

    /// Whether no part of any type is templated.
    public var isEmpty: Bool { byType.values.allSatisfy(\.isEmpty) && fallback.isEmpty }

    /// The template of `part` for `type`: the type's own, else the default entry's.
    public func template(_ part: Part, for type: AlertType) -> MessageTemplate? {
        byType[type]?[part] ?? fallback[part]
    }
}

extension SlackMessageRenderer {
    /// The text of `part` for `alert` from this renderer's templates, or nil when the part has no
    /// template (the built-in text applies). An empty string means "leave the part out".
    func templated(_ part: MessageTemplates.Part, _ alert: AlertRecord, style: TemplateFields.Style) -> String? {
        guard let template = templates.template(part, for: alert.type) else { return nil }
        let text = template.render(TemplateFields.values(of: alert, style: style, renderer: self))
        return text.allSatisfy(\.isWhitespace) ? "" : text
    }

    /// Lines of a templated mrkdwn part, trailing blank lines dropped (YAML block scalars end in one).
    static func lines(_ text: String) -> [String] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        while let last = lines.last, last.allSatisfy(\.isWhitespace) { lines.removeLast() }
        return lines
    }
}
