import Contracts
import FleetConfig
import Foundation
import WorkerRuntime

/// The three stages of the fleet, each its own executable, consumer group and Deployment.
public enum FleetStage: String, Sendable, CaseIterable {
    case ingestScorer = "ingest-scorer"
    case evaluator
    case dispatcher

    /// The executable's name, also the default consumer group and the stage label in logs and metrics.
    public var name: String { rawValue }

    /// One line on what the stage does.
    public var summary: String {
        switch self {
        case .ingestScorer:
            "account-events -> health-scores: validates events, keeps per-account state, scores health 0-100"
        case .evaluator:
            "health-scores -> alerts: thresholds, episodes, routing, cooldowns, suppression (keyed by destination)"
        case .dispatcher:
            "alerts (+ alerts-retry-1..3) -> Slack: quiet hours, digests, grouping, retries, dead letters, the delivery log"
        }
    }

    /// Which configuration files the stage reads: (variable, required).
    public var files: [(variable: String, required: Bool)] {
        switch self {
        case .ingestScorer: [("SCORING_FILE", false)]
        case .evaluator: [("RULES_FILE", true), ("DESTINATIONS_FILE", false)]
        case .dispatcher: [("DESTINATIONS_FILE", true), ("RULES_FILE", false)]
        }
    }

    /// The environment variables of the stage beyond the worker settings, with their meaning.
    public var stageVariables: [(name: String, meaning: String)] {
        var out: [(String, String)] = []
        for (variable, required) in files {
            switch variable {
            case "SCORING_FILE": out.append((variable, "scoring file (YAML); the built-in scoring defaults when unset"))
            case "RULES_FILE":
                out.append(
                    (
                        variable,
                        required
                            ? "rules file (YAML), required"
                            : "rules file: its destinations' quiet hours and digests apply where the destinations file sets none"
                    ))
            default:
                out.append(
                    (
                        variable,
                        required
                            ? "destinations file (YAML; webhook URLs from ${VAR}), required"
                            : "destinations file: when set, checked with the rules (every routed destination defined, every ${VAR} set)"
                    ))
            }
        }
        if self == .dispatcher {
            out += DispatcherSettings.variables + FeedbackSettings.variables + SlackActionsSettings.variables
        }
        if self == .ingestScorer {
            out.append(
                (
                    "INPUTS_FILE",
                    "inputs file (YAML): topics of other formats (debezium, segment, mapping, native) normalised onto account-events; none when unset"
                ))
            out.append(
                (
                    "TIME_MODE",
                    "live (default: timers also re-score quiet accounts on the wall clock once caught up) or replay (event time only: for feeding history, such as the demo's sample)"
                ))
        }
        out.append(
            ("TICK_INTERVAL_MS", "how often timers run per partition (default \(self == .dispatcher ? 100 : 1000))"))
        return out
    }

    /// `--help`: every variable the stage reads.
    public var helpText: String {
        var lines = [
            "\(name): \(summary)", "",
            "usage: \(name) [--check-config | --version | --help]",
            "  --check-config   check the configuration files and the environment, print file:line: key: problem lines, exit 0 or 1",
            "  --version        print the version and the git commit of the build",
            "  --help           this text", "",
            "Settings come from the environment:",
        ]
        let worker: [(String, String)] = [
            ("KAFKA_BROKERS", "bootstrap servers (host:port,...), required"),
            (
                "KAFKA_<PROPERTY>",
                "any librdkafka property: upper case, '.' as '_', a literal '_' as '__' (KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_PASSWORD, ...)"
            ),
            ("KAFKA_CONSUMER_<PROPERTY>, KAFKA_PRODUCER_<PROPERTY>", "the same, for one client only"),
            ("TOPIC_PREFIX", "put before every topic name (default empty)"),
            ("GROUP_ID", "consumer group (default \(name))"),
            (
                "HTTP_PORT, HTTP_HOST",
                "/healthz, /readyz, /metrics; port 0 picks a free one and logs it (default 8080, 0.0.0.0)"
            ),
            (
                "HTTP_IDLE_TIMEOUT_MS, HTTP_REQUEST_TIMEOUT_MS",
                "every HTTP listener closes a connection silent this long, or whose request is not in within this long (default 10000, 15000)"
            ),
            ("HTTP_MAX_CONNECTIONS", "open connections per HTTP listener; one more is closed at once (default 128)"),
            (
                "HTTP_MAX_HEADER_BYTES, HTTP_MAX_BODY_BYTES",
                "larger request headers: 431, bodies: 413 (default 16384, 16384)"
            ),
            ("LOG_LEVEL, LOG_FORMAT", "trace...critical (default info); json or text (default json)"),
            ("COMMIT_INTERVAL_MS", "state flush and offset store interval (default 1000)"),
            ("SHUTDOWN_TIMEOUT_MS", "the whole stop budget from SIGTERM to exit (default 25000)"),
            ("MAX_RECORD_BYTES", "larger input records go to the dead-letter topic (default 1048576)"),
            (
                "MAX_CLOCK_SKEW_MS",
                "event times further ahead of the wall clock go to the dead-letter topic (default 600000)"
            ),
            (
                "RESTORE_STALL_TIMEOUT_MS",
                "a state restore without progress for this long fails and is retried (default 30000)"
            ),
        ]
        let width = (worker + stageVariables).map(\.0.count).max() ?? 20
        for (variable, meaning) in worker + stageVariables {
            lines.append("  " + variable.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + meaning)
        }
        lines.append("")
        lines.append("Topics (with TOPIC_PREFIX): " + topics.joined(separator: ", "))
        return lines.joined(separator: "\n")
    }

    /// The topics the stage reads or writes (unprefixed catalog names).
    public var topics: [String] {
        switch self {
        case .ingestScorer:
            [
                FleetTopics.accountEvents, FleetTopics.accountEventsDLT, FleetTopics.healthScores,
                FleetTopics.scorerState,
            ]
        case .evaluator:
            [FleetTopics.healthScores, FleetTopics.evaluatorState, FleetTopics.alerts, FleetTopics.healthScoresDLT]
        case .dispatcher:
            [FleetTopics.alerts] + FleetTopics.alertsRetry + [
                FleetTopics.dispatcherState, FleetTopics.alertsDelivered, FleetTopics.alertsDLT,
                FleetTopics.alertFeedback,
            ]
        }
    }

    /// The configuration files the environment names, read and checked across files. Every problem
    /// comes back as `file:line: key: problem`; a required variable that is unset is one too.
    public func loadConfiguration(env: [String: String]) -> Result<FleetConfiguration, FleetConfigError> {
        var missing: [ConfigProblem] = []
        for (variable, required) in files where required && (env[variable]?.isEmpty ?? true) {
            missing.append(
                ConfigProblem(
                    file: "environment", line: nil, key: variable,
                    message: "missing: set it to the path of the \(name)'s file"))
        }
        func path(_ variable: String) -> String? {
            guard files.contains(where: { $0.variable == variable }), let value = env[variable], !value.isEmpty else {
                return nil
            }
            return value
        }
        let read = FleetConfigFiles.read(
            scoring: path("SCORING_FILE"), rules: path("RULES_FILE"), destinations: path("DESTINATIONS_FILE"))
        let problems = missing + read.problems + FleetConfigCheck.check(read.files, environment: env)
        guard problems.isEmpty else { return .failure(FleetConfigError(problems)) }
        do throws(FleetConfigError) {
            return .success(try FleetConfigCheck.load(read.files, environment: env))
        } catch {
            return .failure(error)
        }
    }

    /// Problems of the stage's own settings beyond its scoring, rules and destinations files, as
    /// `--check-config` reports them: every `KAFKA_*` variable librdkafka refuses or that changes a
    /// pinned setting (`WorkerSettings.kafkaVariableProblems`), the scorer's inputs file, and the
    /// dispatcher's feedback links (`FEEDBACK_BASE_URL` without `FEEDBACK_SECRET`, ...); never a
    /// secret's value.
    public func settingsProblems(env: [String: String]) -> [ConfigProblem] {
        let kafka = WorkerSettings.kafkaVariableProblems(env).map {
            ConfigProblem(file: "environment", line: nil, key: $0.variable, message: $0.reason)
        }
        if self == .ingestScorer, case .failure(let error) = InputRepartition.load(env: env) {
            return kafka + error.problems
        }
        guard self == .dispatcher else { return kafka }
        return kafka + feedbackProblems(env: env)
    }

    private func feedbackProblems(env: [String: String]) -> [ConfigProblem] {
        do {
            _ = try FeedbackSettings.fromEnvironment(env)
            return []
        } catch {
            if case .configuration(let source, let key, let reason) = error {
                return [ConfigProblem(file: source, line: nil, key: key, message: reason)]
            }
            return [ConfigProblem(file: "environment", line: nil, key: "FEEDBACK_*", message: "\(error)")]
        }
    }

    /// The tick interval from `TICK_INTERVAL_MS` (the dispatcher defaults to 100 ms, so deferred
    /// alerts and group waits are released well within a second).
    public func tickInterval(env: [String: String]) throws(WorkerError) -> Duration {
        let fallback = self == .dispatcher ? 100 : 1000
        guard let text = env["TICK_INTERVAL_MS"] else { return .milliseconds(fallback) }
        guard let value = Int(text), (10...60_000).contains(value) else {
            throw .configuration(
                source: "environment", key: "TICK_INTERVAL_MS",
                reason: "\"\(text)\" is not a whole number in 10...60000")
        }
        return .milliseconds(value)
    }
}
