import Contracts
import Yams

/// Reads a destination's `templates` and checks them against sample alerts (pure).
///
/// ```yaml
/// templates:
///   customer_at_risk:
///     header: "{{account.name}} needs a call: {{score.change}}"
///   default:
///     next_step: "*Do this next:* {{next_step}}"
/// ```
enum MessageTemplatesParser {
    /// A problem found by rendering the samples: the key below `templates` and its line.
    struct SampleProblem {
        var key: String
        var line: Int?
        var message: String
    }

    /// The templates of one destination; each problem (an unknown type or part, a template that is
    /// not a string, a Mustache error, an unknown field) is added with its file line.
    static func parse(_ node: Node, prefix: String, file: String, problems: inout [SlackDeliveryError])
        -> MessageTemplates
    {
        var result = MessageTemplates()
        guard let types = node.mapping else {
            problems.append(
                .configInvalid(
                    file: file, key: prefix, line: node.mark?.line,
                    problem: "expected a mapping of alert types (or 'default') to message parts"))
            return result
        }
        let typeNames = AlertType.allCases.map(\.rawValue) + [MessageTemplates.defaultKey]
        let partNames = MessageTemplates.Part.allCases.map(\.rawValue)
        for (typeNode, partsNode) in types {
            let typeName = typeNode.string ?? "?"
            let type = AlertType(rawValue: typeName)
            guard type != nil || typeName == MessageTemplates.defaultKey else {
                problems.append(
                    .configInvalid(
                        file: file, key: "\(prefix).\(typeName)", line: typeNode.mark?.line,
                        problem: "unknown alert type (expected one of \(typeNames.joined(separator: ", ")))"))
                continue
            }
            guard let parts = partsNode.mapping else {
                problems.append(
                    .configInvalid(
                        file: file, key: "\(prefix).\(typeName)", line: partsNode.mark?.line,
                        problem: "expected a mapping of message parts (\(partNames.joined(separator: ", ")))"))
                continue
            }
            var templates: [MessageTemplates.Part: MessageTemplate] = [:]
            for (partNode, textNode) in parts {
                let key = "\(prefix).\(typeName).\(partNode.string ?? "?")"
                guard let part = partNode.string.flatMap(MessageTemplates.Part.init(rawValue:)) else {
                    problems.append(
                        .configInvalid(
                            file: file, key: key, line: partNode.mark?.line,
                            problem: "unknown message part (expected one of \(partNames.joined(separator: ", ")))"))
                    continue
                }
                guard let scalar = textNode.scalar else {
                    problems.append(
                        .configInvalid(
                            file: file, key: key, line: textNode.mark?.line, problem: "expected a template string"))
                    continue
                }
                do {
                    templates[part] = try MessageTemplate(scalar.string)
                } catch {
                    problems.append(
                        .configInvalid(
                            file: file, key: key, line: fileLine(of: error.line, in: textNode),
                            problem: (error.line.map { "line \($0) of the template: " } ?? "") + error.message))
                }
            }
            if let type { result.byType[type] = templates } else { result.fallback = templates }
        }
        return result
    }

    /// The file line of a template's `line` (1-based): a block scalar (`|`, `>`) starts on the
    /// line after its key; other scalars on the key's line.
    static func fileLine(of line: Int?, in node: Node) -> Int? {
        guard let start = node.mark?.line else { return nil }
        guard let line else { return start }
        let style = node.scalar?.style
        let block = style == .literal || style == .folded
        return start + (block ? 1 : 0) + line - 1
    }

    /// Renders a sample alert of each type through `destination`'s templates and lists what would
    /// not fit: a header or section past Slack's limits, or a message Block Kit would refuse.
    static func checkAgainstSamples(_ destination: Destination, node: Node) -> [SampleProblem] {
        let renderer = SlackMessageRenderer().styled(for: destination)
        let now = Timestamp(millisecondsSinceEpoch: 1_795_000_000_000)
        var problems: [SampleProblem] = []
        for type in AlertType.allCases {
            guard MessageTemplates.Part.allCases.contains(where: { renderer.templates.template($0, for: type) != nil })
            else { continue }
            var alert = SampleAlerts.make(type, severity: .high, destination: destination.name, now: now)
            alert.escalation =
                type == .digest || type == .recovered
                ? nil
                : AlertEscalation(step: 1, of: 2, dueAt: now, alertId: alert.alertId, mentions: ["U024BE7LH"])
            let entry = renderer.templates.byType[type] != nil ? type.rawValue : MessageTemplates.defaultKey
            func problem(_ part: MessageTemplates.Part, _ message: String) {
                let typeNode = node.mapping?[entry]
                let line = (typeNode?.mapping?[part.rawValue] ?? typeNode)?.mark?.line
                problems.append(SampleProblem(key: "\(entry).\(part.rawValue)", line: line, message: message))
            }
            let limits: [(MessageTemplates.Part, TemplateFields.Style, Int)] = [
                (.header, .plain, BlockKitLimits.headerText), (.text, .slack, BlockKitLimits.sectionText),
                (.why, .slack, BlockKitLimits.sectionText), (.nextStep, .slack, BlockKitLimits.sectionText),
            ]
            for (part, style, limit) in limits {
                guard let text = renderer.templated(part, alert, style: style) else { continue }
                let length = SlackText.length(part == .header ? SlackText.escape(text) : text)
                if length > limit {
                    problem(
                        part,
                        "renders \(length) characters for a sample \(type.rawValue) alert; Slack's limit is \(limit)")
                }
                if part == .header, text.isEmpty {
                    problem(part, "renders nothing for a sample \(type.rawValue) alert (a header cannot be left out)")
                }
            }
            for violation in BlockKitValidator.validate(message: renderer.render(alert)) {
                problem(.text, "a sample \(type.rawValue) alert renders a message Slack would refuse: \(violation)")
            }
        }
        return problems
    }
}
