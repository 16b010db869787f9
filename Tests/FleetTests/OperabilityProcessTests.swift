import Foundation
import Synchronization
import TestSupport
import Testing
import WorkerRuntime

/// The shipped executables as an operator meets them: `--version` on each, and the configuration
/// checks (`--check-config` of a stage, `fleet-admin check-config`) reporting every `KAFKA_*`
/// property librdkafka refuses, all in one run, without a secret's value.
@Suite struct OperabilityProcessTests {
    static let executables = ["ingest-scorer", "evaluator", "dispatcher", "fleet-admin"]

    /// Runs a built executable with `arguments` and `env` laid over a clean environment (no
    /// `KAFKA_*` from the caller); its exit status and its stdout and stderr together. One still
    /// running after `timeout` is terminated and reported as an error naming what it printed.
    static func run(
        _ executable: String, _ arguments: [String], env: [String: String] = [:], timeout: Duration = .seconds(60)
    ) async throws -> (status: Int32, output: String) {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent(executable)
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw FleetTestError("\(executable) not built at \(binary.path): run `swift build --build-tests` first")
        }
        let inherited = ProcessInfo.processInfo.environment.filter {
            !$0.key.hasPrefix("KAFKA_") && !$0.key.hasSuffix("_FILE")
        }
        return try await ChildRun.run(
            binary, arguments, environment: inherited.merging(env) { _, new in new }, timeout: timeout)
    }

    @Test(arguments: executables)
    func versionPrintsTheChartsAppVersionAndExitsZero(executable: String) async throws {
        let result = try await Self.run(executable, ["--version"])
        #expect(result.status == 0, "\(result.output)")
        #expect(
            result.output.trimmingCharacters(in: .whitespacesAndNewlines)
                == BuildInfo.versionLine(executable: executable),
            "\(result.output)")
        #expect(result.output.contains(" \(BuildInfo.version) (commit "), "\(result.output)")
    }

    static let badKafka = [
        "KAFKA_SECURTY_PROTOCOL": "SSL",
        "KAFKA_SESSION_TIMEOUT_MS": "soon",
        "KAFKA_PRODUCER_ACKS": "1",
        "KAFKA_SASL_PASSWROD": "hunter2-do-not-show",
    ]

    @Test func aStagesCheckConfigReportsEveryRefusedKafkaPropertyAtOnce() async throws {
        let rules = FleetHarness.root.appendingPathComponent("config/rules.yaml").path
        let good = try await Self.run("evaluator", ["--check-config"], env: ["RULES_FILE": rules])
        #expect(good.status == 0 && good.output.contains("OK: evaluator configuration"), "\(good.output)")
        let bad = try await Self.run(
            "evaluator", ["--check-config"], env: Self.badKafka.merging(["RULES_FILE": rules]) { $1 })
        #expect(bad.status == 1, "\(bad.output)")
        for variable in Self.badKafka.keys {
            #expect(bad.output.contains("environment: \(variable): "), "\(variable) not reported:\n\(bad.output)")
        }
        #expect(bad.output.contains("4 problems found"), "\(bad.output)")
        #expect(!bad.output.contains("hunter2"), "a secret's value was printed:\n\(bad.output)")
    }

    @Test func fleetAdminCheckConfigReportsTheFilesAndTheKafkaPropertiesTogether() async throws {
        let root = FleetHarness.root.appendingPathComponent("config").path
        // The webhook variables empty: problems of the destinations file, with its path and line.
        let env = [
            "RULES_FILE": root + "/rules.yaml", "DESTINATIONS_FILE": root + "/destinations.yaml",
            "SLACK_WEBHOOK_CUSTOMER_HEALTH": "", "SLACK_WEBHOOK_CS_ESCALATIONS": "",
            "SLACK_WEBHOOK_REVENUE_SIGNALS": "", "SLACK_WEBHOOK_BILLING_ALERTS": "",
        ]
        let filesOnly = try await Self.run("fleet-admin", ["check-config"], env: env)
        let fileProblems = filesOnly.output.split(separator: "\n").filter { $0.hasPrefix(root + "/destinations.yaml:") }
        #expect(filesOnly.status == 1 && fileProblems.count >= 4, "\(filesOnly.output)")
        let bad = try await Self.run("fleet-admin", ["check-config"], env: env.merging(Self.badKafka) { $1 })
        #expect(bad.status == 1, "\(bad.output)")
        for variable in Self.badKafka.keys {
            #expect(bad.output.contains("environment: \(variable): "), "\(variable) not reported:\n\(bad.output)")
        }
        for line in fileProblems {
            #expect(bad.output.contains(line), "a file's problem lost in the run with Kafka problems: \(line)")
        }
        #expect(bad.output.contains("\(fileProblems.count + 4) problems found"), "\(bad.output)")
        #expect(!bad.output.contains("hunter2"), "a secret's value was printed:\n\(bad.output)")
    }

    /// A bad inputs file stops the ingest-scorer at start, before it connects, with the file, the
    /// line and the key of every problem; `--check-config` says the same.
    @Test func aBadInputsFileIsRefusedAtStartWithItsFileAndLine() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "inputs-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("inputs.yaml")
        try """
        inputs:
          - topic: stripe-events
            format: mapping
            mappings:
              - type: ticket_openned
                event_id: id
                account_id: data.object.customer
                occurred_at: created
        """.write(to: file, atomically: true, encoding: .utf8)
        let env = ["INPUTS_FILE": file.path, "KAFKA_BROKERS": "127.0.0.1:1"]
        let check = try await Self.run("ingest-scorer", ["--check-config"], env: env)
        #expect(check.status == 1, "\(check.output)")
        #expect(check.output.contains("\(file.path):5: inputs[0].mappings[0].type: "), "\(check.output)")

        // A start: refused before any connection (the broker address answers nothing), bounded.
        let start = try await Self.run("ingest-scorer", [], env: env, timeout: .seconds(30))
        let text = start.output
        #expect(start.status == 1, "\(text)")
        #expect(text.contains("ingest-scorer did not start"), "\(text)")
        #expect(text.contains("\(file.path):5: inputs[0].mappings[0].type: "), "\(text)")
    }
}
