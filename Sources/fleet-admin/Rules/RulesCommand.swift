import AlertRules
import ArgumentParser
import Contracts
import Foundation

/// `fleet-admin rules ...`: rules as code. Check a rules file; run it against recorded fixtures.
struct RulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "Check a rules file, or test it against recorded score fixtures (like promtool test rules).",
        subcommands: [Check.self, Test.self]
    )

    /// Reads and parses a rules file; a bad file prints every problem as "file:line: key: reason"
    /// (all of them, then their count) and exits 1.
    static func loadRules(_ path: String) throws -> RulesConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ValidationError("cannot read rules file \(path): \(error.localizedDescription)")
        }
        let checked = RulesConfig.check(yaml: text, file: path)
        guard let config = checked.config, checked.problems.isEmpty else {
            let count = checked.problems.count
            let lines = checked.problems.map { "\($0)\n" }.joined()
            FileHandle.standardError.write(Data((lines + "\(count) problem\(count == 1 ? "" : "s") found\n").utf8))
            throw ExitCode(1)
        }
        return config
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Validate a rules file: exits 0 if it is valid, else prints every problem as file:line: key: reason and exits 1."
        )

        @Argument(help: "The rules file (YAML); default: --rules, else RULES_FILE.")
        var file: String?

        @Option(help: "The rules file (default: RULES_FILE).")
        var rules: String?

        func run() throws {
            let rulesFile = try SettingSource.require(
                file ?? rules, flagName: "a file argument or --rules",
                variable: SettingSource.rulesVariable, what: "rules file")
            let config = try RulesCommand.loadRules(rulesFile)
            let destinations = config.destinations.keys.sorted()
            print(
                "OK \(rulesFile): \(config.rules.count) rules, \(config.routes.count) routes, \(destinations.count) destinations (\(destinations.joined(separator: ", "))), \(config.inhibitions.count) inhibitions, \(config.suppressions.count) suppressions"
            )
        }
    }

    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Run a rules file against fixtures (files or folders of *.yaml): prints a diff and exits 1 on any mismatch."
        )

        @Argument(
            help: """
                The rules file, then fixture files or folders of *.yaml fixtures. With --rules (or with one \
                path and RULES_FILE set) every path is a fixture.
                """)
        var paths: [String] = []

        @Option(help: "The rules file (default: the first path, else RULES_FILE).")
        var rules: String?

        @Flag(name: .shortAndLong, help: "Also list every alert raised.")
        var verbose = false

        /// The rules file and the fixture paths: --rules, else the first of two or more paths, else
        /// RULES_FILE with every path a fixture.
        func split() throws -> (rules: String, fixtures: [String]) {
            if let rules { return (rules, paths) }
            if paths.count >= 2 { return (paths[0], Array(paths.dropFirst())) }
            let file = try SettingSource.require(
                nil, flagName: "the rules file before the fixtures or --rules",
                variable: SettingSource.rulesVariable, what: "rules file")
            return (file, paths)
        }

        func run() throws {
            let (rulesFile, fixtures) = try split()
            guard !fixtures.isEmpty else {
                throw ValidationError("no fixtures: give fixture files or folders after the rules file")
            }
            let config = try RulesCommand.loadRules(rulesFile)
            let files = try fixtureFiles(fixtures)
            guard !files.isEmpty else {
                throw ValidationError("no fixtures (*.yaml) found in \(fixtures.joined(separator: ", "))")
            }
            var failed = 0
            for file in files {
                let fixture: RulesTestFixture
                do {
                    fixture = try RulesTestFixture.parse(
                        yaml: try String(contentsOfFile: file, encoding: .utf8), file: file)
                } catch {
                    print("ERROR \(error)")
                    failed += 1
                    continue
                }
                let result = RulesTestRunner.run(config: config, fixture: fixture)
                print(result.report)
                if verbose {
                    for alert in result.produced { print("    \(ExpectedAlert.describe(alert))") }
                }
                if !result.passed { failed += 1 }
            }
            print("\(files.count - failed) of \(files.count) fixtures passed")
            if failed > 0 { throw ExitCode(1) }
        }

        func fixtureFiles(_ fixtures: [String]) throws -> [String] {
            var out: [String] = []
            for path in fixtures {
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                    throw ValidationError("no such fixture file or folder: \(path)")
                }
                if isDirectory.boolValue {
                    let names = try FileManager.default.contentsOfDirectory(atPath: path)
                    out += names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
                        .map { (path as NSString).appendingPathComponent($0) }
                } else {
                    out.append(path)
                }
            }
            return out
        }
    }
}
