import AlertRules
import HealthModel
import SlackDelivery

/// One thing wrong in the fleet's configuration: which file, which line (when known), which key,
/// and what is wrong. Never holds a secret value: a missing variable is named, a URL is not quoted.
public struct ConfigProblem: Sendable, Hashable, CustomStringConvertible {
    /// The file, as given (usually its path).
    public var file: String
    /// 1-based line, where the YAML parser gives one.
    public var line: Int?
    /// The key path, e.g. `routes[3].destination` or `destinations.cs-enterprise.url`.
    public var key: String
    /// What is wrong, for a person.
    public var message: String

    public init(file: String, line: Int?, key: String, message: String) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    /// `config/rules.yaml:42: routes[3].destination: "cs-smb" is not a destination in ...`.
    public var description: String {
        "\(file)\(line.map { ":\($0)" } ?? ""): \(key): \(message)"
    }

    init(_ error: AlertRulesError) {
        switch error {
        case .invalidConfig(let file, let line, let key, let reason):
            self.init(file: file, line: line, key: key, message: reason)
        case .corruptState, .unsupportedStateVersion:
            self.init(file: "(state)", line: nil, key: "(state)", message: error.description)
        }
    }

    init(_ error: HealthModelError) {
        switch error {
        case .config(let file, let key, let line, let reason):
            self.init(file: file, line: line, key: key, message: reason)
        case .stateDecoding, .populationDecoding:
            self.init(file: "(state)", line: nil, key: "(state)", message: error.description)
        }
    }

    init(_ error: SlackDeliveryError) {
        switch error {
        case .configUnreadable(let file, let reason):
            self.init(file: file, line: nil, key: "(file)", message: "cannot read: \(reason)")
        case .configInvalid(let file, let key, let line, let problem):
            self.init(file: file, line: line, key: key, message: problem)
        case .missingEnvironmentVariable(let file, let key, let line, let variable):
            self.init(
                file: file, line: line, key: key, message: "environment variable \(variable) is not set or is empty")
        case .duplicateDestination(let file, let name, let line):
            self.init(file: file, line: line, key: "destinations.\(name)", message: "destination defined twice")
        case .engineStartFailed, .invalidGroup:
            self.init(file: "(delivery)", line: nil, key: "(delivery)", message: error.description)
        }
    }
}
