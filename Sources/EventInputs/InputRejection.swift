/// Why an input record could not be normalised to an account event: it goes to the dead-letter
/// topic with `code` and `reason`, which names the field path and what was wrong. The reason never
/// quotes the record's values (only paths from the inputs file and fixed text), so it is safe in
/// logs and headers.
public struct InputRejection: Error, Sendable, Hashable, CustomStringConvertible {
    /// `not_json`, `not_an_envelope`, `mapping_missing_field`, `mapping_wrong_type`, `mapping_bad_value`,
    /// `no_mapping`, or the native parser's codes (`missing_field`, `bad_timestamp`, ...).
    public var code: String
    /// The field path the problem is at (`data.object.customer`), when one applies.
    public var path: String?
    public var reason: String

    public init(code: String, path: String? = nil, reason: String) {
        self.code = code
        self.path = path
        self.reason = reason
    }

    public var description: String { path.map { "\($0): \(reason)" } ?? reason }
}
