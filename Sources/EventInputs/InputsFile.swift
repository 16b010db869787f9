import Yams

/// The inputs file (`INPUTS_FILE`, `--inputs`): the topics the ingest-scorer reads besides
/// `account-events`, each with its format and mappings (`docs/inputs.md`). Parsing collects every
/// problem with its line, rather than stopping at the first.
public struct InputsFile: Sendable, Hashable {
    public var inputs: [InputSpec]

    public init(inputs: [InputSpec]) {
        self.inputs = inputs
    }

    /// Parses `yaml` (named `file` in messages). Throws every problem found.
    public static func parse(yaml: String, file: String) throws(EventInputsError) -> InputsFile {
        var reader = InputsFileReader(file: file)
        let parsed = reader.read(yaml)
        guard reader.problems.isEmpty, let parsed else {
            throw .invalidInputsFile(
                reader.problems.isEmpty
                    ? [InputsProblem(file: file, line: nil, key: "(top level)", message: "not an inputs file")]
                    : reader.problems)
        }
        return parsed
    }

    /// The problems of `yaml`, empty when it is a good inputs file.
    public static func problems(yaml: String, file: String) -> [InputsProblem] {
        do {
            _ = try parse(yaml: yaml, file: file)
            return []
        } catch {
            if case .invalidInputsFile(let problems) = error { return problems }
            return []
        }
    }
}

/// Reads the YAML nodes of an inputs file into specs, noting problems with their lines.
struct InputsFileReader {
    let file: String
    var problems: [InputsProblem] = []

    static let ruleKeys: Set<String> = [
        "name", "when", "present", "type", "event_id", "account_id", "occurred_at", "user_id", "properties",
    ]
    static let debeziumKeys: Set<String> = ["table", "op", "changed"]

    mutating func problem(_ node: Node?, _ key: String, _ message: String) {
        problems.append(InputsProblem(file: file, line: node?.mark?.line, key: key, message: message))
    }

    mutating func read(_ yaml: String) -> InputsFile? {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else {
                problem(nil, "(top level)", "the file is empty")
                return nil
            }
            root = node
        } catch let error as YamlError {
            problems.append(Self.syntaxProblem(error, file: file))
            return nil
        } catch {
            problem(nil, "(syntax)", "not valid YAML")
            return nil
        }
        guard let top = root.mapping else {
            problem(root, "(top level)", "expected a mapping with `inputs:`")
            return nil
        }
        for (key, _) in top where key.string != "inputs" {
            problem(key, key.string ?? "?", "unknown key (expected inputs)")
        }
        guard let list = top[text: "inputs"] else {
            problem(root, "inputs", "missing: a list of input topics")
            return nil
        }
        guard let items = list.sequence else {
            problem(list, "inputs", "expected a list of input topics")
            return nil
        }
        var specs: [InputSpec] = []
        var topics: Set<String> = []
        for (index, item) in items.enumerated() {
            guard let spec = readInput(item, key: "inputs[\(index)]") else { continue }
            if !topics.insert(spec.topic).inserted {
                problem(item, "inputs[\(index)].topic", "\"\(spec.topic)\" is listed twice")
            }
            specs.append(spec)
        }
        return InputsFile(inputs: specs)
    }

    mutating func readInput(_ node: Node, key: String) -> InputSpec? {
        guard let map = node.mapping else {
            problem(node, key, "expected a mapping with topic and format")
            return nil
        }
        let topic = map[text: "topic"]?.string ?? ""
        if !Self.isTopicName(topic) {
            problem(
                map[text: "topic"] ?? node, key + ".topic", "missing or not a Kafka topic name (letters, digits, . _ -)"
            )
        }
        guard let formatText = map[text: "format"]?.string else {
            problem(node, key + ".format", "missing: one of native, debezium, segment, mapping")
            return nil
        }
        guard let format = InputFormat(rawValue: formatText) else {
            problem(
                map[text: "format"], key + ".format",
                "\"\(formatText.prefix(40))\" is not native, debezium, segment or mapping")
            return nil
        }
        var allowed: Set<String> = ["topic", "format", "unmatched"]
        switch format {
        case .native: break
        case .debezium: allowed.insert("tables")
        case .mapping: allowed.insert("mappings")
        case .segment: allowed.formUnion(["account", "events", "identify", "group"])
        }
        for (k, _) in map where !allowed.contains(k.string ?? "") {
            problem(k, "\(key).\(k.string ?? "?")", "unknown key for format \(format.rawValue)")
        }
        var unmatched = UnmatchedRecords.skip
        if let node = map[text: "unmatched"] {
            if let value = node.string.flatMap(UnmatchedRecords.init(rawValue:)) {
                unmatched = value
            } else {
                problem(node, key + ".unmatched", "expected skip or dead_letter")
            }
        }
        var rules: [InputRule] = []
        switch format {
        case .native: break
        case .mapping:
            rules = readRules(map[text: "mappings"], key: key + ".mappings", listName: "mappings", debezium: false)
        case .debezium:
            rules = readRules(map[text: "tables"], key: key + ".tables", listName: "tables", debezium: true)
        case .segment:
            rules = readSegment(map, key: key)
        }
        return InputSpec(topic: topic, format: format, rules: rules, unmatched: unmatched, line: node.mark?.line)
    }

    static func isTopicName(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 249 && text != "." && text != ".."
            && text.utf8.allSatisfy { b in
                (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2E
                    || b == 0x5F || b == 0x2D
            }
    }

    mutating func readRules(_ node: Node?, key: String, listName: String, debezium: Bool) -> [InputRule] {
        guard let node else {
            problem(nil, key, "missing: a list of \(listName)")
            return []
        }
        guard let items = node.sequence, !items.isEmpty else {
            problem(node, key, "expected a non-empty list of \(listName)")
            return []
        }
        // A Debezium change is dated by the connector's ts_ms unless the mapping names a column.
        let defaults: [String: ValueSource] =
            debezium ? ["occurred_at": ValueSource(.path(FieldPath(keys: ["ts_ms"])), unit: .milliseconds)] : [:]
        var rules: [InputRule] = []
        for (index, item) in items.enumerated() {
            if let rule = readRule(
                item, key: "\(key)[\(index)]", debezium: debezium, defaults: defaults, conditions: [])
            {
                rules.append(rule)
            }
        }
        return rules
    }

    /// One mapping. `defaults` fill the top-level fields it does not set; `conditions` come first.
    mutating func readRule(
        _ node: Node, key: String, debezium: Bool, defaults: [String: ValueSource], conditions: [InputRule.Condition],
        fallbackName: String? = nil, extraKeys: Set<String> = []
    ) -> InputRule? {
        guard let map = node.mapping else {
            problem(node, key, "expected a mapping with type and fields")
            return nil
        }
        let allowed = Self.ruleKeys.union(debezium ? Self.debeziumKeys : []).union(extraKeys)
        for (k, _) in map where !allowed.contains(k.string ?? "") {
            problem(
                k, "\(key).\(k.string ?? "?")",
                "unknown key (expected one of \(allowed.sorted().joined(separator: ", ")))")
        }
        var conditions = conditions
        var name = map[text: "name"]?.string ?? fallbackName ?? key
        if debezium {
            guard let table = map[text: "table"]?.string, !table.isEmpty else {
                problem(node, key + ".table", "missing: the table whose row changes this maps (source.table)")
                return nil
            }
            conditions.append(.oneOf(FieldPath(keys: ["source", "table"]), [table]))
            var ops: [String] = []
            if let opNode = map[text: "op"] {
                ops = stringList(opNode) ?? []
                if ops.isEmpty || !ops.allSatisfy({ ["c", "u", "d", "r"].contains($0) }) {
                    problem(opNode, key + ".op", "expected c, u, d or r (or a list of them)")
                }
                conditions.append(.oneOf(FieldPath(keys: ["op"]), Set(ops)))
            }
            if let changedNode = map[text: "changed"] {
                let columns = stringList(changedNode) ?? []
                if columns.isEmpty {
                    problem(changedNode, key + ".changed", "expected a column name or a list of them")
                }
                conditions += columns.map { .changed($0) }
            }
            if map[text: "name"] == nil { name = "\(table) \(ops.joined(separator: ","))" }
        }
        if let when = map[text: "when"] {
            if let pairs = when.mapping {
                for (k, v) in pairs {
                    let pathText = k.string ?? ""
                    guard let path = FieldPath(pathText) else {
                        problem(k, "\(key).when.\(pathText)", "not a field path (a.b.c, a.list[0])")
                        continue
                    }
                    guard let values = stringList(v), !values.isEmpty else {
                        problem(v, "\(key).when.\(pathText)", "expected a value or a list of values")
                        continue
                    }
                    conditions.append(.oneOf(path, Set(values)))
                }
            } else {
                problem(when, key + ".when", "expected a mapping of field paths to values")
            }
        }
        if let presentNode = map[text: "present"] {
            let texts = stringList(presentNode) ?? []
            if texts.isEmpty { problem(presentNode, key + ".present", "expected a field path or a list of them") }
            for text in texts {
                if let path = FieldPath(text) {
                    conditions.append(.present(path))
                } else {
                    problem(presentNode, key + ".present", "not a field path (a.b.c, a.list[0])")
                }
            }
        }
        guard let typeNode = map[text: "type"], let type = typeNode.string else {
            problem(node, key + ".type", "missing: the event type this mapping makes")
            return nil
        }
        var ok = true
        if !EventFields.typeNames.contains(type) {
            problem(typeNode, key + ".type", "\"\(type.prefix(64))\" is not an event type (see docs/events.md)")
            ok = false
        }
        var fields = defaults
        for name in EventFields.topLevel.keys.sorted() {
            guard let sourceNode = map[text: name] else { continue }
            if let source = readSource(sourceNode, key: "\(key).\(name)") { fields[name] = source } else { ok = false }
        }
        for name in EventFields.required where fields[name] == nil {
            problem(node, "\(key).\(name)", "missing: where the event's \(name) comes from")
            ok = false
        }
        var properties: [String: ValueSource] = [:]
        if let propsNode = map[text: "properties"] {
            if let pairs = propsNode.mapping {
                for (k, v) in pairs {
                    let property = k.string ?? ""
                    guard EventFields.properties[property] != nil else {
                        problem(
                            k, "\(key).properties.\(property)", "not a property of account events (see docs/events.md)")
                        ok = false
                        continue
                    }
                    if let source = readSource(v, key: "\(key).properties.\(property)") {
                        properties[property] = source
                    } else {
                        ok = false
                    }
                }
            } else {
                problem(propsNode, key + ".properties", "expected a mapping of property names to sources")
                ok = false
            }
        }
        guard ok else { return nil }
        return InputRule(
            name: name, line: node.mark?.line, conditions: conditions, type: type, fields: fields,
            properties: properties)
    }

    /// A value source: `path.to.field`, `"text {path} text"`, `{value: constant}`,
    /// `{path: ..., unit: s|ms|us, scale: 0.01, map: {from: to}}` or `{template: ...}`.
    mutating func readSource(_ node: Node, key: String) -> ValueSource? {
        if let text = node.string {
            if text.contains("{") || text.contains("}") {
                guard let parts = ValueSource.template(text) else {
                    problem(node, key, "not a template: {field.path} pieces between text, braces balanced")
                    return nil
                }
                return ValueSource(.template(parts))
            }
            guard let path = FieldPath(text) else {
                problem(node, key, "not a field path (a.b.c, a.list[0]); a constant is {value: ...}")
                return nil
            }
            return ValueSource(.path(path))
        }
        guard let map = node.mapping else {
            problem(node, key, "expected a field path or a mapping with path, value or template")
            return nil
        }
        for (k, _) in map where !["path", "value", "template", "unit", "scale", "map"].contains(k.string ?? "") {
            problem(k, "\(key).\(k.string ?? "?")", "unknown key (expected path, value, template, unit, scale, map)")
        }
        let origins = ["path", "value", "template"].filter { map[text: $0] != nil }
        guard origins.count == 1 else {
            problem(node, key, "expected exactly one of path, value, template")
            return nil
        }
        var origin: ValueSource.Origin
        if let pathNode = map[text: "path"] {
            guard let path = pathNode.string.flatMap(FieldPath.init) else {
                problem(pathNode, key + ".path", "not a field path (a.b.c, a.list[0])")
                return nil
            }
            origin = .path(path)
        } else if let valueNode = map[text: "value"] {
            guard let constant = Self.constant(valueNode) else {
                problem(valueNode, key + ".value", "expected a text, number or boolean")
                return nil
            }
            origin = .constant(constant)
        } else {
            guard let text = map[text: "template"]?.string, let parts = ValueSource.template(text) else {
                problem(map[text: "template"], key + ".template", "not a template: {field.path} pieces between text")
                return nil
            }
            origin = .template(parts)
        }
        var source = ValueSource(origin)
        if let unitNode = map[text: "unit"] {
            guard let unit = unitNode.string.flatMap(ValueSource.TimeUnit.init(rawValue:)) else {
                problem(unitNode, key + ".unit", "expected s, ms or us")
                return nil
            }
            source.unit = unit
        }
        if let scaleNode = map[text: "scale"] {
            guard let scale = scaleNode.string.flatMap(Double.init), scale.isFinite, scale > 0 else {
                problem(scaleNode, key + ".scale", "expected a positive number (0.01 turns cents into currency units)")
                return nil
            }
            source.scale = scale
        }
        if let tableNode = map[text: "map"] {
            guard let pairs = tableNode.mapping else {
                problem(tableNode, key + ".map", "expected a mapping of values to values")
                return nil
            }
            var table: [String: JSONValue] = [:]
            for (k, v) in pairs {
                guard let from = k.string, let to = Self.constant(v) else {
                    problem(v, key + ".map", "expected text, number or boolean values")
                    return nil
                }
                table[from] = to
            }
            source.table = table
        }
        return source
    }

    /// A YAML scalar as a JSON constant: plain `true`/`false`/numbers as such, anything else as text.
    static func constant(_ node: Node) -> JSONValue? {
        guard let scalar = node.scalar else { return nil }
        let text = scalar.string
        guard scalar.style == .plain else { return .string(text) }
        if text == "true" { return .bool(true) }
        if text == "false" { return .bool(false) }
        if let i = Int64(text) { return .integer(i) }
        if let d = Double(text), d.isFinite, text.first?.isNumber == true || text.first == "-" { return .number(d) }
        if text == "null" || text == "~" { return .null }
        return .string(text)
    }

    /// A scalar or a list of scalars, as text.
    func stringList(_ node: Node) -> [String]? {
        if let text = node.string { return [text] }
        guard let items = node.sequence else { return nil }
        let texts = items.compactMap(\.string)
        return texts.count == items.count ? texts : nil
    }

    static func syntaxProblem(_ error: YamlError, file: String) -> InputsProblem {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let during = context.map { " (\($0.text))" } ?? ""
            return InputsProblem(
                file: file, line: mark.line, key: "(syntax)", message: "not valid YAML: \(problem)\(during)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return InputsProblem(
                file: file, line: context.mark.line, key: duplicates.joined(separator: ", "), message: "duplicate key")
        default:
            return InputsProblem(file: file, line: nil, key: "(syntax)", message: "not valid YAML")
        }
    }
}

extension Node.Mapping {
    /// The value under the text key `key` (whatever its tag or style), nil when absent.
    subscript(text key: String) -> Node? {
        first { $0.key.string == key }?.value
    }
}
