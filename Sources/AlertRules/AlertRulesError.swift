/// Everything that can go wrong in the AlertRules module, with what a caller needs to act on it.
public enum AlertRulesError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A rules file (or a rules-test fixture) is invalid: which file, which line, which key and why.
    case invalidConfig(file: String, line: Int?, key: String, reason: String)
    /// A stored account state could not be decoded (truncated or corrupt bytes).
    case corruptState(reason: String)
    /// A stored account state was written by a newer encoding than this build understands.
    case unsupportedStateVersion(Int)

    public var description: String {
        switch self {
        case .invalidConfig(let file, let line, let key, let reason):
            let at = line.map { ":\($0)" } ?? ""
            return "\(file)\(at): \(key): \(reason)"
        case .corruptState(let reason):
            return "corrupt alert state: \(reason)"
        case .unsupportedStateVersion(let version):
            return "alert state encoding version \(version) is newer than this build supports"
        }
    }
}
