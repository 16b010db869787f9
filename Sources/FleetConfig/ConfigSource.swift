import Foundation

/// A configuration file's text and the name to report it under (usually its path).
public struct ConfigSource: Sendable, Hashable {
    /// The name problems are reported under.
    public var path: String
    /// The YAML text.
    public var text: String

    public init(path: String, text: String) {
        self.path = path
        self.text = text
    }

    /// Reads the file at `path`; a file that cannot be read is a problem, not a crash.
    public static func read(_ path: String) -> Result<ConfigSource, FleetConfigError> {
        do {
            return .success(ConfigSource(path: path, text: try String(contentsOfFile: path, encoding: .utf8)))
        } catch {
            let reason = (error as NSError).localizedDescription
            return .failure(
                FleetConfigError([
                    ConfigProblem(file: path, line: nil, key: "(file)", message: "cannot read: \(reason)")
                ]))
        }
    }
}

/// The configuration files of the fleet. Each stage gives the ones it reads: the scorer its
/// scoring file (nil: the built-in defaults), the evaluator its rules and the dispatcher's
/// destinations (for the cross-file check), the dispatcher its destinations and the rules (for
/// the quiet hours and digests it falls back to).
public struct FleetConfigFiles: Sendable, Hashable {
    /// The scoring file; nil: the built-in defaults.
    public var scoring: ConfigSource?
    /// The rules file; nil: not checked.
    public var rules: ConfigSource?
    /// The destinations file; nil: not checked (nor the routes against it).
    public var destinations: ConfigSource?

    public init(scoring: ConfigSource? = nil, rules: ConfigSource? = nil, destinations: ConfigSource? = nil) {
        self.scoring = scoring
        self.rules = rules
        self.destinations = destinations
    }

    /// Reads the files at the paths given (nil: not read). Unreadable files come back as problems.
    public static func read(scoring: String?, rules: String?, destinations: String?) -> (
        files: FleetConfigFiles, problems: [ConfigProblem]
    ) {
        var files = FleetConfigFiles()
        var problems: [ConfigProblem] = []
        func load(_ path: String?) -> ConfigSource? {
            guard let path else { return nil }
            switch ConfigSource.read(path) {
            case .success(let source): return source
            case .failure(let error):
                problems += error.problems
                return nil
            }
        }
        files.scoring = load(scoring)
        files.rules = load(rules)
        files.destinations = load(destinations)
        return (files, problems)
    }
}
