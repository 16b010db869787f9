/// Collects the problems of a rules file while it is parsed, so that one check reports them all:
/// each part is parsed in `attempt`, which keeps its error and lets the parse go on.
final class RulesProblemCollector {
    /// The file named in problems that are not `AlertRulesError`s already.
    let file: String
    /// The problems so far, in the order found (file order).
    private(set) var problems: [AlertRulesError] = []

    init(file: String) { self.file = file }

    /// The value of `body`, or nil after recording its error.
    func attempt<T>(_ body: () throws -> T) -> T? {
        do {
            return try body()
        } catch let error as AlertRulesError {
            if !problems.contains(error) { problems.append(error) }
            return nil
        } catch {
            problems.append(.invalidConfig(file: file, line: nil, key: "(top level)", reason: "\(error)"))
            return nil
        }
    }
}
