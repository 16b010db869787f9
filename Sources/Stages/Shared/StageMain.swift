import BlockingWork
import FleetConfig
import Foundation
import Logging
import WorkerRuntime

/// The whole `main` of each stage executable: `--help`, `--version`, `--check-config`, or run the worker until
/// SIGTERM. Returns the process exit code: 0 after a clean stop or a clean check, 1 on a problem
/// (each printed to stderr as `file:line: key: problem`), 2 on an unknown argument.
public enum StageMain {
    public static func run(
        _ stage: FleetStage, arguments: [String] = Array(CommandLine.arguments.dropFirst()),
        env: [String: String] = ProcessInfo.processInfo.environment
    ) async -> Int32 {
        if arguments.contains("--help") || arguments.contains("-h") {
            print(stage.helpText)
            return 0
        }
        if arguments.contains("--version") {
            print(BuildInfo.versionLine(executable: stage.name))
            return 0
        }
        if let unknown = arguments.first(where: { $0 != "--check-config" }) {
            printError("\(stage.name): unknown argument \(unknown) (see --help)")
            return 2
        }
        if arguments.contains("--check-config") {
            var problems = stage.settingsProblems(env: env)
            if case .failure(let error) = stage.loadConfiguration(env: env) { problems = error.problems + problems }
            guard !problems.isEmpty else {
                print(
                    "OK: \(stage.name) configuration ("
                        + stage.files.map { "\($0.variable)=\(env[$0.variable] ?? "unset")" }.joined(separator: ", ")
                        + ")")
                return 0
            }
            for problem in problems { print(problem.description) }
            printError("\(problems.count) problem\(problems.count == 1 ? "" : "s") found")
            return 1
        }
        let settings: WorkerSettings
        do {
            settings = try WorkerSettings.fromEnvironment(stage: stage.name, env)
        } catch {
            printError("\(stage.name): \(error)")
            return 1
        }
        let logger = WorkerApp.bootstrap(settings: settings)
        do {
            switch stage {
            case .ingestScorer:
                let worker = try ScorerStage.make(settings: settings, env: env, logger: logger)
                try await WorkerApp.run(worker, settings: settings, logger: logger)
            case .evaluator:
                let worker = try EvaluatorStage.make(settings: settings, env: env, logger: logger)
                try await WorkerApp.run(worker, settings: settings, logger: logger)
            case .dispatcher:
                let stageWorker = try DispatcherStage.make(settings: settings, env: env, logger: logger)
                try await WorkerApp.run(
                    stageWorker.worker, settings: settings, logger: logger,
                    listeners: stageWorker.listeners,
                    dependencies: dependencies(of: stageWorker, logger: logger))
            }
            return 0
        } catch let error as StageStartError {
            logger.critical("configuration refused", metadata: ["problems": "\(error.description)"])
            printError("\(stage.name) did not start:\n\(error.description)")
            return 1
        } catch {
            logger.critical("worker stopped", metadata: ["error": "\(error)"])
            return 1
        }
    }

    /// What the dispatcher's worker and feedback listener need until they have stopped, in the
    /// order the service group starts them (it stops them in the reverse order, after the worker
    /// and the listeners): the feedback ledger (its reader started here, feeding the endpoint's
    /// replay guard) with the producer of `alert-feedback`, then the Slack deliverer.
    static func dependencies(of built: DispatcherStage.Built, logger: Logger) -> [StopOnShutdownService] {
        var services: [StopOnShutdownService] = []
        if built.feedbackLedger != nil || built.feedbackProducer != nil {
            services.append(
                StopOnShutdownService(
                    "feedback ledger", logger: logger,
                    start: {
                        if let ledger = built.feedbackLedger, let endpoint = built.feedback {
                            ledger.start { endpoint.remember($0) }
                        }
                    },
                    stop: { await stopFeedback(built) }))
        }
        services.append(StopOnShutdownService("slack deliverer", logger: logger) { await built.deliverer.shutdown() })
        return services
    }

    /// After the feedback listener stopped: the ledger's reader (off the cooperative pool: it
    /// joins a thread), then the producer of `alert-feedback`.
    static func stopFeedback(_ built: DispatcherStage.Built) async {
        if let ledger = built.feedbackLedger {
            await BlockingThread.run(name: "feedback-ledger-stop") { ledger.stop() }
        }
        await built.feedbackProducer?.shutdown(timeout: .seconds(5))
    }

    static func printError(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}

/// A stage refused to start: its configuration files or settings are wrong. `description` lists
/// every problem as `file:line: key: problem`, never a secret.
public struct StageStartError: Error, Sendable, CustomStringConvertible {
    public var problems: [ConfigProblem]

    public init(_ problems: [ConfigProblem]) { self.problems = problems }

    init(_ error: WorkerError) {
        if case .configuration(let source, let key, let reason) = error {
            problems = [ConfigProblem(file: source, line: nil, key: key, message: reason)]
        } else {
            problems = [ConfigProblem(file: "environment", line: nil, key: "(settings)", message: "\(error)")]
        }
    }

    public var description: String { problems.map(\.description).joined(separator: "\n") }
}
