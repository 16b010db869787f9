import ArgumentParser
import FleetConfig
import Foundation
import Stages
import WorkerRuntime

/// `fleet-admin check-config`: the scoring, rules and destinations files checked together, with
/// the environment, exactly as each stage checks them at start (`--check-config`).
struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract:
            "Check the scoring, rules and destinations files together: prints every problem as file:line: key: what is wrong, exits 1 if any.",
        discussion: """
            Checks each file as its stage reads it, every ${VAR} in the destinations file against the \
            environment (a missing or empty variable is named, its value is never printed), that every \
            destination a route names is defined in the destinations file, and that no destination has \
            quiet hours or a digest in both files; with --inputs (or INPUTS_FILE), the ingest-scorer's \
            inputs file: formats, mappings naming an event type or property that does not exist. Every \
            KAFKA_*, KAFKA_CONSUMER_* and KAFKA_PRODUCER_* variable is checked by librdkafka itself (the \
            property's name and its value), and one that would change a setting the fleet pins is refused. \
            All problems of all files are reported in one run. Only the files given are checked (the \
            summary names the ones that were not); with none of them, it says which flags and variables \
            supply them.
            """)

    @Option(help: "Scoring file (default: SCORING_FILE, else the built-in scoring defaults).") var scoring: String?
    @Option(help: "Rules file (default: RULES_FILE).") var rules: String?
    @Option(help: "Destinations file (default: DESTINATIONS_FILE).") var destinations: String?
    @Option(help: "Inputs file of the ingest-scorer (default: INPUTS_FILE; none when unset).") var inputs: String?

    func run() throws {
        let scoring = SettingSource.resolve(scoring, variable: SettingSource.scoringVariable)
        let rules = SettingSource.resolve(rules, variable: SettingSource.rulesVariable)
        let destinations = SettingSource.resolve(destinations, variable: SettingSource.destinationsVariable)
        let inputs = SettingSource.resolve(inputs, variable: "INPUTS_FILE")
        // Each file given is checked (a team may check only its inputs file); with none of them
        // there is nothing to check, which is a usage error naming every flag and variable.
        guard rules != nil || destinations != nil || inputs != nil || scoring != nil else {
            throw ValidationError(
                "nothing to check: give --rules or set RULES_FILE, --destinations or set DESTINATIONS_FILE, "
                    + "--scoring or set SCORING_FILE, --inputs or set INPUTS_FILE")
        }
        let environment = ProcessInfo.processInfo.environment
        let read = FleetConfigFiles.read(scoring: scoring, rules: rules, destinations: destinations)
        let kafka = WorkerSettings.kafkaVariableProblems(environment).map {
            ConfigProblem(file: "environment", line: nil, key: $0.variable, message: $0.reason)
        }
        var problems = read.problems + FleetConfigCheck.check(read.files, environment: environment) + kafka
        if let inputs, case .failure(let error) = InputRepartition.load(env: ["INPUTS_FILE": inputs]) {
            problems += error.problems
        }
        for problem in problems { print(problem.description) }
        guard problems.isEmpty else {
            FileHandle.standardError.write(
                Data("\(problems.count) problem\(problems.count == 1 ? "" : "s") found\n".utf8))
            throw ExitCode(1)
        }
        var checked = [scoring ?? "built-in scoring defaults"] + [rules, destinations, inputs].compactMap { $0 }
        checked.append("the KAFKA_* environment")
        var skipped: [String] = []
        if rules == nil { skipped.append("rules (--rules or RULES_FILE)") }
        if destinations == nil {
            skipped.append("destinations and the routes to them (--destinations or DESTINATIONS_FILE)")
        }
        if inputs == nil { skipped.append("inputs (--inputs or INPUTS_FILE)") }
        print("OK: " + checked.joined(separator: ", "))
        if !skipped.isEmpty { print("not checked, none given: " + skipped.joined(separator: "; ")) }
    }
}
