/// Why `ScoreRecordDecoder` refused a `health-scores` record, in the words `RecordCoding.describe`
/// uses for Foundation's `DecodingError` (`missing key "valid_at"`, `wrong type at score: expected a
/// number`, `bad value at zone`, `not valid JSON`), with a little more detail where it helps. The
/// description is the reason a dead letter carries.
public struct ScoreRecordDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// The bytes are not JSON (syntax, nesting deeper than 512, an unterminated string).
        case notJSON
        /// A required key is absent from the object at `path`.
        case missingKey(String)
        /// The value at `path` is of another JSON type (or null where a value is required).
        case wrongType(expected: String)
        /// The value at `path` has the right type but cannot be read: an unknown zone, a timestamp
        /// that is not RFC 3339, a number that does not fit, a bad string escape.
        case badValue(String)
    }

    public enum PathComponent: Sendable, Hashable {
        case key(String)
        case index(Int)
    }

    public var kind: Kind
    /// Where in the record, outermost first: `signals[2].impact` is `[.key("signals"), .index(2), .key("impact")]`.
    public var path: [PathComponent]
    /// For `notJSON`: the byte offset where the bytes stopped being JSON, and what was wrong there.
    public var offset: Int?
    public var detail: String?

    public init(_ kind: Kind, path: [PathComponent] = [], offset: Int? = nil, detail: String? = nil) {
        self.kind = kind
        self.path = path
        self.offset = offset
        self.detail = detail
    }

    /// The same error one level further out: under `key` of the enclosing object.
    func under(_ key: String) -> ScoreRecordDecodingError {
        var copy = self
        copy.path.insert(.key(key), at: 0)
        return copy
    }

    /// The same error one level further out: element `index` of the enclosing list.
    func under(_ index: Int) -> ScoreRecordDecodingError {
        var copy = self
        copy.path.insert(.index(index), at: 0)
        return copy
    }

    /// `signals[2].impact`, the path as `RecordCoding.describe` writes it.
    public var pathText: String {
        var out = ""
        for component in path {
            switch component {
            case .key(let key): out += out.isEmpty ? key : ".\(key)"
            case .index(let index): out += "[\(index)]"
            }
        }
        return out
    }

    public var description: String {
        let at = pathText
        switch kind {
        case .notJSON:
            var text = "not valid JSON"
            if let offset { text += " at byte \(offset)" }
            if let detail { text += ": \(detail)" }
            return text
        case .missingKey(let key):
            return "missing key \"\(key)\"" + (at.isEmpty ? "" : " in \(at)")
        case .wrongType(let expected):
            return "wrong type\(at.isEmpty ? "" : " at \(at)"): expected \(expected)"
        case .badValue(let why):
            return at.isEmpty ? "bad value: \(why)" : "bad value at \(at): \(why)"
        }
    }
}
