/// The one error type of the health model. Each case says what a caller can do about it.
public enum HealthModelError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A scoring file is wrong: fix `key` (at `line`, when known) in `file`.
    case config(file: String, key: String, line: Int?, reason: String)
    /// A stored `AccountState` value cannot be decoded (corrupt, truncated or from a newer version):
    /// drop it and rebuild the account from events, or upgrade the reader.
    case stateDecoding(reason: String)
    /// A population part read from the population topic cannot be decoded (corrupt, truncated, from a
    /// newer version, or numbers no scorer writes): it is left out of the population.
    case populationDecoding(reason: String)

    public var description: String {
        switch self {
        case .config(let file, let key, let line, let reason):
            let at = line.map { ":\($0)" } ?? ""
            return "\(file)\(at): \(key): \(reason)"
        case .stateDecoding(let reason):
            return "account state: \(reason)"
        case .populationDecoding(let reason):
            return "population part: \(reason)"
        }
    }
}
