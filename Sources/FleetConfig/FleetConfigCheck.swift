import AlertRules
import HealthModel
import SlackDelivery
import Yams

/// The fleet's configuration, parsed and checked across files: what a stage starts with.
public struct FleetConfiguration: Sendable {
    /// The scoring file's settings, or the built-in defaults when no scoring file was given.
    public var scoring: ScoringConfig
    /// The rules, when a rules file was given.
    public var rules: RulesConfig?
    /// The destinations with their webhooks, when a destinations file was given.
    public var destinations: DestinationsFile?
    /// Quiet hours, digest and group wait per destination, as the dispatcher applies them: each
    /// field from the destinations file where it is set there, else from the rules file.
    public var destinationPolicies: [String: DestinationPolicy]
}

/// Checks the scoring, rules and destinations files together and lists EVERY problem with file,
/// line, key and what is wrong:
///
/// - each file as its own parser sees it (syntax with its line, unknown keys, bad values);
/// - every `${VAR}` in the destinations file is set and non-empty in `environment`;
/// - every destination a route names (and every destination the rules file sets quiet hours or a
///   digest for) is defined in the destinations file;
/// - no destination has quiet hours or a digest in both files.
///
/// Pure apart from `FleetConfigFiles.read`: the texts and the environment come in as values, and
/// no problem ever quotes a secret (variables are named, URLs are not shown). `fleet-admin
/// check-config` and each stage's `--check-config` call `check`; a stage starts with `load`.
public enum FleetConfigCheck {
    /// Every problem in `files`, in file order (scoring, rules, destinations, then across files).
    public static func check(_ files: FleetConfigFiles, environment: [String: String]) -> [ConfigProblem] {
        analyse(files, environment: environment).problems
    }

    /// The parsed configuration, or every problem as a `FleetConfigError`.
    public static func load(_ files: FleetConfigFiles, environment: [String: String]) throws(FleetConfigError)
        -> FleetConfiguration
    {
        let result = analyse(files, environment: environment)
        guard result.problems.isEmpty else { throw FleetConfigError(result.problems) }
        return result.configuration
    }

    static func analyse(_ files: FleetConfigFiles, environment: [String: String]) -> (
        configuration: FleetConfiguration, problems: [ConfigProblem]
    ) {
        var problems: [ConfigProblem] = []

        var scoring = ScoringConfig()
        if let source = files.scoring {
            if let syntax = syntaxProblem(source) {
                problems.append(syntax)
            } else {
                do throws(HealthModelError) {
                    scoring = try ScoringConfig(yaml: source.text, file: source.path)
                } catch {
                    problems.append(ConfigProblem(error))
                }
            }
        }

        var rules: RulesConfig?
        if let source = files.rules {
            let checked = RulesConfig.check(yaml: source.text, file: source.path)
            rules = checked.config
            problems += checked.problems.map(ConfigProblem.init)
        }

        var destinations: DestinationsFile?
        var filePolicies: [String: DestinationPolicy] = [:]
        if let source = files.destinations {
            let checked = DestinationsFile.check(yaml: source.text, file: source.path, environment: environment)
            problems += checked.problems.map(ConfigProblem.init)
            if checked.problems.isEmpty { destinations = checked.file }
            do {
                // Not valid YAML: the destinations parser has said so already.
                if YAMLOutline(source.text) != nil {
                    filePolicies = try DestinationPolicy.parseAll(destinationsYAML: source.text, file: source.path)
                }
            } catch let error as AlertRulesError {
                problems.append(ConfigProblem(error))
            } catch {
                problems.append(ConfigProblem(file: source.path, line: nil, key: "destinations", message: "\(error)"))
            }
        }

        if let rulesSource = files.rules, let destinationsSource = files.destinations,
            let rulesOutline = YAMLOutline(rulesSource.text),
            let destinationsOutline = YAMLOutline(destinationsSource.text)
        {
            problems += crossFileProblems(
                rules: rulesSource, rulesOutline: rulesOutline, destinations: destinationsSource,
                destinationsOutline: destinationsOutline, rulesPolicies: rules?.destinations ?? [:],
                filePolicies: filePolicies)
        }

        let policies = DestinationPolicy.resolved(destinationsFile: filePolicies, rulesFile: rules?.destinations ?? [:])
        return (
            FleetConfiguration(
                scoring: scoring, rules: rules, destinations: destinations, destinationPolicies: policies), problems
        )
    }

    /// Destinations named in the rules file but not defined in the destinations file, and time
    /// policies set in both.
    static func crossFileProblems(
        rules: ConfigSource, rulesOutline: YAMLOutline, destinations: ConfigSource, destinationsOutline: YAMLOutline,
        rulesPolicies: [String: DestinationPolicy], filePolicies: [String: DestinationPolicy]
    ) -> [ConfigProblem] {
        var problems: [ConfigProblem] = []
        let defined = destinationsOutline.destinationNames.map(\.name)
        let known = defined.isEmpty ? "none" : defined.joined(separator: ", ")
        let named = rulesOutline.routeDestinations + rulesOutline.destinationNames
        for mention in named where !defined.contains(mention.name) {
            problems.append(
                ConfigProblem(
                    file: rules.path, line: mention.line, key: mention.key,
                    message: "\"\(mention.name)\" is not a destination in \(destinations.path) (known: \(known))"))
        }
        for name in filePolicies.keys.sorted() {
            guard let own = filePolicies[name], let other = rulesPolicies[name] else { continue }
            for (field, both) in [
                ("quiet_hours", own.quietHours != nil && other.quietHours != nil),
                ("digest", own.digest != nil && other.digest != nil),
            ] where both {
                problems.append(
                    ConfigProblem(
                        file: destinations.path, line: destinationsOutline.line(destination: name, field: field),
                        key: "destinations.\(name).\(field)",
                        message:
                            "also set for \(name) in \(rules.path); set it in one file only (the destinations file's applies in the dispatcher)"
                    ))
            }
        }
        return problems
    }

    /// A YAML syntax error with its line (the scoring parser reports none), without quoting the text.
    static func syntaxProblem(_ source: ConfigSource) -> ConfigProblem? {
        do {
            _ = try Yams.compose(yaml: source.text)
            return nil
        } catch let error as YamlError {
            switch error {
            case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
                .composer(_, let problem, let mark, _):
                return ConfigProblem(
                    file: source.path, line: mark.line, key: "(syntax)", message: "not valid YAML: \(problem)")
            case .duplicatedKeysInMapping(let duplicates, let context):
                return ConfigProblem(
                    file: source.path, line: context.mark.line, key: duplicates.joined(separator: ", "),
                    message: "duplicate key")
            default:
                return ConfigProblem(file: source.path, line: nil, key: "(syntax)", message: "not valid YAML")
            }
        } catch {
            return ConfigProblem(file: source.path, line: nil, key: "(syntax)", message: "not valid YAML")
        }
    }
}
