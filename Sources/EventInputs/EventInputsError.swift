/// One thing wrong in an inputs file, as `file:line: key: what is wrong`.
public struct InputsProblem: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    /// 1-based line, where the YAML parser gives one.
    public var line: Int?
    /// The key path, e.g. `inputs[2].mappings[0].properties.seat`.
    public var key: String
    public var message: String

    public init(file: String, line: Int?, key: String, message: String) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    public var description: String { "\(file)\(line.map { ":\($0)" } ?? ""): \(key): \(message)" }
}

/// The errors of the EventInputs module.
public enum EventInputsError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The inputs file is wrong: fix each problem at its file and line (`fleet-admin check-config`
    /// prints the same list).
    case invalidInputsFile([InputsProblem])

    public var description: String {
        switch self {
        case .invalidInputsFile(let problems): problems.map(\.description).joined(separator: "\n")
        }
    }
}
