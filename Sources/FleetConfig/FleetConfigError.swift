/// The one error type of the FleetConfig module: the configuration has problems, all of them listed.
public struct FleetConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Every problem found, in file order (never empty).
    public var problems: [ConfigProblem]

    public init(_ problems: [ConfigProblem]) { self.problems = problems }

    /// One problem per line.
    public var description: String { problems.map(\.description).joined(separator: "\n") }
}
