/// Where a value sits in an input record: dot-separated keys with `[n]` indexes
/// (`data.object.lines.data[0].amount`). A key holding a dot is not addressable (no input format
/// the fleet reads uses one).
public struct FieldPath: Sendable, Hashable, CustomStringConvertible {
    /// One step down a document.
    public enum Step: Sendable, Hashable {
        case key(String)
        case index(Int)
    }

    public let steps: [Step]
    /// The path as written in the inputs file.
    public let description: String

    /// Parses `text`; nil when it is empty, has an empty key (`a..b`) or a malformed index.
    public init?(_ text: String) {
        guard !text.isEmpty, text.utf8.count <= 512 else { return nil }
        var steps: [Step] = []
        for part in text.split(separator: ".", omittingEmptySubsequences: false) {
            var rest = Substring(part)
            let keyEnd = rest.firstIndex(of: "[") ?? rest.endIndex
            let key = rest[..<keyEnd]
            guard !key.contains("]") else { return nil }
            guard !key.isEmpty || (keyEnd != rest.endIndex && !steps.isEmpty) else { return nil }
            if !key.isEmpty { steps.append(.key(String(key))) }
            rest = rest[keyEnd...]
            while !rest.isEmpty {
                guard rest.first == "[", let close = rest.firstIndex(of: "]") else { return nil }
                guard let index = Int(rest[rest.index(after: rest.startIndex)..<close]), index >= 0 else { return nil }
                steps.append(.index(index))
                rest = rest[rest.index(after: close)...]
            }
        }
        self.steps = steps
        self.description = text
    }

    /// A path of plain keys (any text but a dot in each).
    public init(keys: [String]) {
        self.steps = keys.map { .key($0) }
        self.description = keys.joined(separator: ".")
    }

    /// The first key (`after` of `after.account_id`).
    public var head: String? {
        if case .key(let key) = steps.first { return key }
        return nil
    }
}
