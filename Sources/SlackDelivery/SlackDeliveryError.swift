/// The one error type of the SlackDelivery module.
///
/// Every case names what a caller can act on. No case ever carries a webhook URL, a token path or a
/// signing secret: destinations are named, never located.
public enum SlackDeliveryError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The destinations file could not be read at all.
    case configUnreadable(file: String, reason: String)
    /// A key in the destinations file is missing, mistyped or holds a bad value.
    case configInvalid(file: String, key: String, line: Int?, problem: String)
    /// A `${NAME}` reference names an environment variable that is not set (or is empty).
    case missingEnvironmentVariable(file: String, key: String, line: Int?, variable: String)
    /// Two destinations share one name.
    case duplicateDestination(file: String, name: String, line: Int?)
    /// The delivery engine could not start (libcurl refused to initialise).
    case engineStartFailed(reason: String)
    /// Alerts that cannot be one message: none at all, several accounts or destinations, or a
    /// digest with other alerts.
    case invalidGroup(reason: String)

    public var description: String {
        switch self {
        case .configUnreadable(let file, let reason):
            return "\(file): cannot read destinations file: \(reason)"
        case .configInvalid(let file, let key, let line, let problem):
            return "\(Self.location(file, line)) \(key): \(problem)"
        case .missingEnvironmentVariable(let file, let key, let line, let variable):
            return "\(Self.location(file, line)) \(key): environment variable \(variable) is not set or empty"
        case .duplicateDestination(let file, let name, let line):
            return "\(Self.location(file, line)) destinations.\(name): destination defined twice"
        case .engineStartFailed(let reason):
            return "Slack delivery engine failed to start: \(reason)"
        case .invalidGroup(let reason):
            return "alerts cannot be grouped into one message: \(reason)"
        }
    }

    private static func location(_ file: String, _ line: Int?) -> String {
        if let line { return "\(file):\(line):" }
        return "\(file):"
    }
}
