import ArgumentParser
import WorkerRuntime

/// The fleet's admin tool: local broker, topics, sample data, replay, rules as code, Slack checks,
/// and the benchmarks.
@main
struct FleetAdmin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet-admin",
        abstract: "Admin tool of the account-health alert fleet.",
        version: BuildInfo.versionLine(executable: "fleet-admin"),
        subcommands: [
            DemoCommand.self,
            BrokerCommand.self,
            TopicsCommand.self,
            SampleCommand.self,
            EventsCommand.self,
            ProduceCommand.self,
            ReplayCommand.self,
            RulesCommand.self,
            CheckConfigCommand.self,
            BacktestCommand.self,
            ReportCommand.self,
            SendTestCommand.self,
            SlackSinkCommand.self,
            DLTCommand.self,
            DeliveryLogCommand.self,
            AlertsCommand.self,
            AccountCommand.self,
            MetricsReferenceCommand.self,
            SilenceCommand.self,
            BenchCommand.self,
        ]
    )
}

/// `fleet-admin bench ...`: commands that print measured figures.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks that print figures (build with -c release).",
        subcommands: [
            KafkaBenchCommand.self,
            FleetBenchCommand.self,
            RescaleBenchCommand.self,
            HealthBenchCommand.self,
            RulesBenchCommand.self,
            EvaluatorStageBenchCommand.self,
            SlackBenchCommand.self,
            DetectionBenchCommand.self,
        ]
    )
}

/// A command that failed for a reason that is not a usage error: printed as `Error: <message>`,
/// exit status 1, no usage text.
struct AdminError: Error, CustomStringConvertible {
    var message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}
