import Mustache

/// One Mustache template of a message part, written by a team in its destinations file.
///
/// The language is Mustache's variables (`{{account.name}}`), sections over lists and present
/// values (`{{#signals}}…{{/signals}}`, `{{#trigger}}…{{/trigger}}`), inverted sections and
/// comments. Partials, inheritance, lambdas, transforms, pragmas and changed delimiters are refused
/// when the template is read, so what a template can do is what `TemplateFields` documents.
///
/// Values are escaped for the place they land before the template sees them (Slack mrkdwn, plain
/// text or HTML, see `TemplateFields.Style`), so `{{x}}` and `{{{x}}}` insert the same safe text;
/// the template's own words are the team's and may carry Slack formatting.
public struct MessageTemplate: Sendable, Hashable, CustomStringConvertible {
    /// The template as written.
    public let source: String
    private let compiled: MustacheTemplate

    /// A problem in a template's text: where (its line, counted from the template's first line) and what.
    public struct Problem: Error, Sendable, Hashable, CustomStringConvertible {
        /// The line within the template (1-based), when known.
        public var line: Int?
        public var message: String
        public var description: String { line.map { "line \($0) of the template: \(message)" } ?? message }
    }

    /// Reads `source`, refusing what the fleet's template language leaves out and any field name
    /// that `TemplateFields` does not define.
    public init(_ source: String) throws(Problem) {
        if let problem = TemplateTags.scan(source).first { throw problem }
        do {
            // Values arrive escaped: Mustache's own (HTML) escaping would escape them twice.
            compiled = try MustacheTemplate(string: "{{% CONTENT_TYPE: TEXT}}" + source)
        } catch let error as MustacheTemplate.ParserError {
            throw Problem(line: error.context.lineNumber, message: "not valid Mustache (\(error.error))")
        } catch {
            throw Problem(line: nil, message: "not valid Mustache (\(error))")
        }
        self.source = source
    }

    /// The text of this template over `fields` (a `TemplateFields` value tree).
    public func render(_ fields: [String: Any]) -> String { compiled.render(fields) }

    public static func == (a: MessageTemplate, b: MessageTemplate) -> Bool { a.source == b.source }
    public func hash(into hasher: inout Hasher) { hasher.combine(source) }
    public var description: String { source }
}

/// The tags of a template, read without Mustache to check them: which constructs it uses and
/// whether every name it reads is a field (`TemplateFields.paths`), taking the lists it is inside
/// into account (`{{#signals}}{{text}}{{/signals}}`).
enum TemplateTags {
    /// Every problem of `source`, in order (empty when it only uses what the fleet supports).
    /// The longest template read (Slack's longest part, a section, holds 3,000 characters).
    static let maxLength = 10_000
    /// The deepest nesting of sections.
    static let maxDepth = 8

    static func scan(_ source: String) -> [MessageTemplate.Problem] {
        guard source.utf8.count <= maxLength else {
            return [.init(line: nil, message: "longer than \(maxLength) bytes")]
        }
        var problems: [MessageTemplate.Problem] = []
        var sections: [String] = []  // open sections, innermost last
        var repeatsAt: [Bool] = []  // per open section: whether it repeats for a list's items
        var line = 1
        var rest = Substring(source)
        while let open = rest.range(of: "{{") {
            line += rest[rest.startIndex..<open.lowerBound].reduce(0) { $0 + ($1.isNewline ? 1 : 0) }
            let afterOpen = rest[open.upperBound...]
            guard let close = afterOpen.range(of: "}}") else {
                problems.append(.init(line: line, message: "'{{' is never closed with '}}'"))
                break
            }
            var tag = afterOpen[afterOpen.startIndex..<close.lowerBound]
            var end = close.upperBound
            if tag.first == "{" {  // {{{name}}}: the third brace closes after "}}"
                tag = tag.dropFirst()
                if end < afterOpen.endIndex, afterOpen[end] == "}" { end = afterOpen.index(after: end) }
            }
            let sigil = tag.first.map { "#^/!&>%=<$".contains($0) ? $0 : nil } ?? nil
            let name = (sigil == nil ? tag : tag.dropFirst()).trimmingCharacters(in: .whitespaces)
            switch sigil {
            case "!":
                break  // a comment
            case ">", "<", "$":
                problems.append(.init(line: line, message: "partials and template inheritance are not supported"))
            case "%":
                problems.append(.init(line: line, message: "pragmas are not supported"))
            case "=":
                problems.append(.init(line: line, message: "changing the delimiters is not supported"))
            case "/":
                if sections.last == name {
                    sections.removeLast()
                    repeatsAt.removeLast()
                } else {
                    problems.append(
                        .init(
                            line: line, message: "'{{/\(name)}}' closes \(sections.last.map { "'\($0)'" } ?? "nothing")"
                        ))
                }
            default:
                let isSection = sigil == "#" || sigil == "^"
                let path = resolve(name, inside: sections)
                // A list's own section repeats for each item; an inverted one renders at most once.
                let repeats = sigil == "#" && path.map(TemplateFields.lists.contains) == true
                if let problem = check(name: name, inside: sections) {
                    problems.append(.init(line: line, message: problem))
                } else if let path {
                    if repeats, repeatsAt.contains(true) {
                        // Each would repeat for every item of the other: the work multiplies per level.
                        problems.append(
                            .init(line: line, message: "'{{#\(name)}}' inside another list's section is not supported"))
                    } else if !isSection, TemplateFields.parents.contains(path) {
                        problems.append(
                            .init(
                                line: line,
                                message: TemplateFields.lists.contains(path)
                                    ? "'\(name)' is a list: write {{#\(name)}}…{{/\(name)}} around its fields"
                                    : "'\(name)' holds fields: name one (\(hint(for: name + ".x", inside: sections)))"))
                    }
                }
                if isSection {
                    guard sections.count < maxDepth else {
                        problems.append(.init(line: line, message: "sections nested deeper than \(maxDepth)"))
                        return problems
                    }
                    sections.append(name)
                    repeatsAt.append(repeats)
                }
            }
            line += tag.reduce(0) { $0 + ($1.isNewline ? 1 : 0) }
            rest = afterOpen[end...]
        }
        if let open = sections.last { problems.append(.init(line: line, message: "'{{#\(open)}}' is never closed")) }
        return problems
    }

    /// Why `name` cannot be read inside `sections`, or nil when it names a field there.
    static func check(name: String, inside sections: [String]) -> String? {
        if name.contains("(") { return "'\(name)': transforms are not supported" }
        if name.isEmpty { return "an empty tag" }
        if name == "." { return sections.isEmpty ? "'.' outside a section" : nil }
        if resolve(name, inside: sections) != nil { return nil }
        return "'\(name)' is not a field here (\(hint(for: name, inside: sections)))"
    }

    /// The catalogue path `name` reads inside `sections`, as Mustache looks it up: in each open
    /// section's item, innermost first, then at the top; nil when it reads no field (or is `.`).
    static func resolve(_ name: String, inside sections: [String]) -> String? {
        guard name != "." else { return nil }
        for i in stride(from: sections.count, through: 0, by: -1) {
            let scope = sections.prefix(i).joined(separator: ".")
            let path = Self.listPath(scope.isEmpty ? name : "\(scope).\(name)")
            if TemplateFields.paths.contains(path) { return path }
        }
        return nil
    }

    /// What the reader of a problem can use instead: the fields of the parent the name points into.
    static func hint(for name: String, inside sections: [String]) -> String {
        let parent = String(name.split(separator: ".").dropLast().joined(separator: "."))
        for scope in [parent] + sections.reversed().map({ parent.isEmpty ? $0 : "\($0).\(parent)" })
        where !scope.isEmpty {
            let children = TemplateFields.catalogue.map(\.path).filter {
                $0.hasPrefix(scope + ".") && !$0.dropFirst(scope.count + 1).contains(".")
            }
            if !children.isEmpty {
                return "\(scope) has " + children.map { String($0.dropFirst(scope.count + 1)) }.joined(separator: ", ")
            }
        }
        return "see docs/templates.md for the fields"
    }

    /// A path through the lists as the catalogue writes it: an item of `signals` is `signals.text`.
    static func listPath(_ path: String) -> String { path.hasPrefix(".") ? String(path.dropFirst()) : path }
}
