import ArgumentParser
import Foundation

/// One vocabulary for the files every command and stage reads: a flag wins, then the environment
/// variable the stages read, then a default. A command that needs a file and has none says which
/// flag and which variable supply it.
enum SettingSource {
    /// The stages' variables and the flags that stand for them.
    static let rulesVariable = "RULES_FILE"
    static let destinationsVariable = "DESTINATIONS_FILE"
    static let scoringVariable = "SCORING_FILE"

    /// The flag's value, else the variable's (when set and not empty), else `fallback`.
    static func resolve(
        _ flag: String?, variable: String, fallback: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> String? {
        if let flag, !flag.isEmpty { return flag }
        if let value = environment[variable], !value.isEmpty { return value }
        return fallback
    }

    /// As `resolve`, but a missing value is a usage error naming the flag and the variable.
    static func require(
        _ flag: String?, flagName: String, variable: String, what: String,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> String {
        guard let value = resolve(flag, variable: variable, environment: environment) else {
            throw ValidationError("no \(what): give \(flagName) or set \(variable)")
        }
        return value
    }
}
