import Contracts
import Yams

/// A YAML node with where it came from (file, key path, line), so every config error can say
/// exactly what is wrong and where. Built on Yams' node API (`Node.mark`) rather than Codable.
struct YAMLValue {
    let node: Node
    let path: String
    let file: String

    var line: Int? { node.mark?.line }

    func error(_ reason: String) -> AlertRulesError {
        .invalidConfig(file: file, line: line, key: path.isEmpty ? "(top level)" : path, reason: reason)
    }

    /// Parses a whole document; an empty document or a YAML syntax error fails with the file and line.
    static func document(yaml: String, file: String) throws -> YAMLValue {
        do {
            guard let node = try Yams.compose(yaml: yaml) else {
                throw AlertRulesError.invalidConfig(
                    file: file, line: nil, key: "(top level)", reason: "the file is empty")
            }
            return YAMLValue(node: node, path: "", file: file)
        } catch let error as AlertRulesError {
            throw error
        } catch let error as YamlError {
            throw syntaxError(error, file: file)
        } catch {
            throw AlertRulesError.invalidConfig(file: file, line: nil, key: "(syntax)", reason: "not valid YAML")
        }
    }

    /// A YAML syntax error with its line, without quoting the document (Yams' own description
    /// repeats the whole text).
    static func syntaxError(_ error: YamlError, file: String) -> AlertRulesError {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let during = context.map { " (\($0.text))" } ?? ""
            return .invalidConfig(
                file: file, line: mark.line, key: "(syntax)", reason: "not valid YAML: \(problem)\(during)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return .invalidConfig(
                file: file, line: context.mark.line, key: duplicates.joined(separator: ", "), reason: "duplicate key")
        case .reader(let problem, _, _, _):
            return .invalidConfig(file: file, line: nil, key: "(syntax)", reason: "not valid YAML: \(problem)")
        default:
            return .invalidConfig(file: file, line: nil, key: "(syntax)", reason: "not valid YAML")
        }
    }

    private var scalarText: String? {
        if case .scalar(let s) = node { return s.string }
        return nil
    }

    func string() throws -> String {
        guard let text = scalarText else { throw error("expected a text value") }
        return text
    }

    func nonEmptyString() throws -> String {
        let text = try string()
        guard !text.isEmpty else { throw error("must not be empty") }
        return text
    }

    func int() throws -> Int {
        guard let text = scalarText, let v = Int(text) else { throw error("expected a whole number, got \(describe)") }
        return v
    }

    func int(in range: ClosedRange<Int>) throws -> Int {
        let v = try int()
        guard range.contains(v) else { throw error("\(v) is out of range \(range.lowerBound)...\(range.upperBound)") }
        return v
    }

    func double() throws -> Double {
        guard let text = scalarText, let v = Double(text), v.isFinite else {
            throw error("expected a number, got \(describe)")
        }
        return v
    }

    func bool() throws -> Bool {
        switch scalarText?.lowercased() {
        case "true", "yes": return true
        case "false", "no": return false
        default: throw error("expected true or false, got \(describe)")
        }
    }

    /// `90s`, `15m`, `12h`, `7d`, `2w` (or `0`), in milliseconds.
    func duration() throws -> Int64 {
        let text = try string()
        if text == "0" { return 0 }
        let units: [(String, Int64)] = [
            ("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000), ("w", 604_800_000),
        ]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            if let n = Int64(text.dropLast(suffix.count)), n >= 0 {
                let (ms, overflow) = n.multipliedReportingOverflow(by: factor)
                guard !overflow else { throw error("duration \(describe) is too long") }
                return ms
            }
        }
        throw error("expected a duration such as 30m, 12h or 7d, got \(describe)")
    }

    func timestamp() throws -> Timestamp {
        guard let t = Timestamp(rfc3339: try string()) else {
            throw error("expected an RFC 3339 time such as 2026-12-24T00:00:00Z, got \(describe)")
        }
        return t
    }

    /// `HH:MM` as minutes after midnight; `24:00` is allowed where `allowEndOfDay`.
    func timeOfDay(allowEndOfDay: Bool) throws -> Int {
        let text = try string()
        let parts = text.split(separator: ":")
        guard parts.count == 2, parts[1].count == 2, let h = Int(parts[0]), let m = Int(parts[1]),
            (0...24).contains(h), (0...59).contains(m), h < 24 || (m == 0 && allowEndOfDay)
        else {
            throw error("expected a local time HH:MM (00:00-\(allowEndOfDay ? "24:00" : "23:59")), got \(describe)")
        }
        return h * 60 + m
    }

    func oneOf<T: RawRepresentable>(_: T.Type, allowed: [T]) throws -> T where T.RawValue == String {
        let text = try string()
        guard let v = T(rawValue: text), allowed.contains(where: { $0.rawValue == v.rawValue }) else {
            throw error("unknown value \(describe); expected one of \(allowed.map(\.rawValue).joined(separator: ", "))")
        }
        return v
    }

    func list() throws -> [YAMLValue] {
        guard case .sequence(let seq) = node else { throw error("expected a list") }
        return seq.enumerated().map { YAMLValue(node: $1, path: "\(path)[\($0)]", file: file) }
    }

    /// A list of scalars, or a single scalar taken as a one-item list.
    func stringList() throws -> [YAMLValue] {
        if case .scalar = node { return [self] }
        return try list()
    }

    func map(allowed: [String]) throws -> YAMLMap {
        guard case .mapping(let mapping) = node else { throw error("expected a mapping of keys to values") }
        var entries: [(String, YAMLValue)] = []
        for (keyNode, valueNode) in mapping {
            let childPath = path.isEmpty ? "" : "\(path)."
            guard let key = keyNode.string else {
                throw YAMLValue(node: keyNode, path: path, file: file).error("keys must be text")
            }
            let value = YAMLValue(node: valueNode, path: childPath + key, file: file)
            guard allowed.contains(key) else {
                throw YAMLValue(node: keyNode, path: childPath + key, file: file)
                    .error("unknown key; expected one of \(allowed.joined(separator: ", "))")
            }
            guard !entries.contains(where: { $0.0 == key }) else {
                throw YAMLValue(node: keyNode, path: childPath + key, file: file).error("duplicate key")
            }
            entries.append((key, value))
        }
        return YAMLMap(value: self, entries: entries)
    }

    /// A mapping whose other keys belong to another reader: unknown keys are let through (only
    /// the keys asked for are read); duplicates still fail.
    func lenientMap() throws -> YAMLMap {
        guard case .mapping(let mapping) = node else { throw error("expected a mapping of keys to values") }
        var entries: [(String, YAMLValue)] = []
        for (keyNode, valueNode) in mapping {
            guard let key = keyNode.string, !entries.contains(where: { $0.0 == key }) else { continue }
            entries.append((key, YAMLValue(node: valueNode, path: path.isEmpty ? key : "\(path).\(key)", file: file)))
        }
        return YAMLMap(value: self, entries: entries)
    }

    /// A mapping whose keys are names chosen by the user (destinations).
    func namedEntries() throws -> [(String, YAMLValue)] {
        guard case .mapping(let mapping) = node else { throw error("expected a mapping of names to settings") }
        var out: [(String, YAMLValue)] = []
        for (keyNode, valueNode) in mapping {
            guard let key = keyNode.string, !key.isEmpty else {
                throw YAMLValue(node: keyNode, path: path, file: file).error("names must be non-empty text")
            }
            guard !out.contains(where: { $0.0 == key }) else {
                throw YAMLValue(node: keyNode, path: "\(path).\(key)", file: file).error("duplicate name")
            }
            out.append((key, YAMLValue(node: valueNode, path: "\(path).\(key)", file: file)))
        }
        return out
    }

    var describe: String {
        switch node {
        case .scalar(let s): return "\"\(s.string.prefix(60))\""
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }
}

/// The keys of a YAML mapping, checked against the allowed ones.
struct YAMLMap {
    let value: YAMLValue
    let entries: [(String, YAMLValue)]

    subscript(key: String) -> YAMLValue? {
        entries.first { $0.0 == key }?.1
    }

    func require(_ key: String) throws -> YAMLValue {
        guard let v = self[key] else {
            let prefix = value.path.isEmpty ? "" : "\(value.path)."
            throw AlertRulesError.invalidConfig(
                file: value.file, line: value.line, key: prefix + key, reason: "missing required key")
        }
        return v
    }

    var keys: [String] { entries.map(\.0) }
}
