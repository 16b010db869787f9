import Contracts
import Foundation
import Kafka
import SlackSink
import TestSupport
import Testing

/// `fleet-admin dlt` and `delivery-log` as an operator runs them, against a dispatcher process:
/// dead letters of an archived channel inspected, replayed once the channel is back (each alert
/// delivered once), and replayed again without a second post.
@Suite(.serialized) struct AdminProcessTests {
    /// Runs `fleet-admin` with `arguments` and the fleet's environment; its exit status and stdout.
    static func admin(_ arguments: [String], env: [String: String]) async throws -> (status: Int32, output: String) {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(
            "fleet-admin")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw FleetTestError("fleet-admin not built at \(binary.path): run `swift build --build-tests` first")
        }
        return try await ChildRun.run(
            binary, arguments, environment: ProcessInfo.processInfo.environment.merging(env) { _, new in new })
    }

    /// `events validate` on a file with one good and two bad lines: the bad ones with their line
    /// and code, a summary, exit 1; the seeded sample passes with exit 0.
    @Test func eventsValidatePrintsEachRefusedLineAndExitsOneWhenAnyIsRefused() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent(
            "events-\(UInt32.random(in: 0...UInt32.max)).jsonl")
        defer { try? FileManager.default.removeItem(at: file) }
        let lines = [
            #"{"event_id":"e1","account_id":"acme","type":"login","occurred_at":"2026-11-17T10:00:00Z"}"#,
            #"{"event_id":"e2","account_id":"acme","type":"nps_response","occurred_at":"2026-11-17T10:00:00Z","properties":{}}"#,
            #"{"event_id":"e3","account_id":"acme","type":"login","occurred_at":"2099-01-01T00:00:00Z"}"#,
        ]
        try lines.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
        let bad = try await Self.admin(["events", "validate", file.path], env: [:])
        #expect(bad.status == 1, "\(bad.output)")
        #expect(
            bad.output.contains("\(file.path):2: missing_field: properties.score: missing for nps_response"),
            "\(bad.output)")
        #expect(bad.output.contains("\(file.path):3: future_event_time: "), "\(bad.output)")
        #expect(bad.output.contains("3 events checked: 1 accepted, 2 refused"), "\(bad.output)")
        let missing = try await Self.admin(["events", "validate", file.path + ".absent"], env: [:])
        #expect(missing.status == 2, "\(missing.output)")
        try lines[0].write(to: file, atomically: true, encoding: .utf8)
        let good = try await Self.admin(["events", "validate", file.path], env: [:])
        #expect(good.status == 0 && good.output.contains("1 events checked: 1 accepted, 0 refused"), "\(good.output)")
    }

    /// `produce` puts a file of events on the cluster with the stages' own settings, each keyed by
    /// its account id; a refused line is reported with its line number and not sent (exit 1).
    @Test func produceSendsEachEventKeyedByItsAccountAndSkipsRefusedLines() async throws {
        let fleet = try await FleetHarness(destinations: [])
        let file = fleet.directory.appendingPathComponent("events.jsonl")
        let events = (0..<40).map { n in
            #"{"event_id":"p-\#(n)","account_id":"acct-\#(n % 7)","type":"login","occurred_at":"2026-11-17T10:00:00Z"}"#
        }
        try (events[..<20] + ["{broken"] + events[20...]).joined(separator: "\n").write(
            to: file, atomically: true, encoding: .utf8)
        let run = try await Self.admin(["produce", file.path, "--rate", "500"], env: fleet.env())
        #expect(run.status == 1, "\(run.output)")
        #expect(run.output.contains("\(file.path):21: invalid_json: "), "\(run.output)")
        #expect(run.output.contains("40 of 40 events acknowledged by t.account-events"), "\(run.output)")
        let records = try await fleet.read("account-events", partitions: 12, timeout: .seconds(20)) { $0.count >= 40 }
        #expect(records.count == 40)
        for record in records {
            let value = String(decoding: record.value ?? [], as: UTF8.self)
            #expect(
                record.keyString.map { value.contains(#""account_id":"\#($0)""#) } == true,
                "key \(record.keyString ?? "nil") of \(value)")
        }
        // One account, one partition.
        let partitions = Dictionary(grouping: records, by: { $0.keyString ?? "" }).mapValues {
            Set($0.map(\.partition))
        }
        #expect(partitions.values.allSatisfy { $0.count == 1 }, "\(partitions)")
        await fleet.shutdown()
    }

    /// `topics diff` against a broker without the Admin API (the local mock) answers within its
    /// --timeout with the reason and the flag that helps, instead of hanging; with that flag it
    /// reports the drift (the mock's replication factor 1).
    @Test func topicsDiffSaysWhyABrokerWithoutAdminAPIDoesNotAnswer() async throws {
        let fleet = try await FleetHarness(destinations: [])
        let started = ContinuousClock.now
        let diff = try await Self.admin(["topics", "diff", "--timeout", "2"], env: fleet.env())
        #expect(ContinuousClock.now - started < .seconds(20), "topics diff took \(ContinuousClock.now - started)")
        #expect(diff.status == 1, "\(diff.output)")
        #expect(
            diff.output.contains("did not answer DescribeConfigs") && diff.output.contains("--skip-configs"),
            "\(diff.output)")
        let skip = try await Self.admin(["topics", "diff", "--skip-configs"], env: fleet.env())
        #expect(
            skip.status == 1 && skip.output.contains("t.account-events: replication factor 1, defined 3"),
            "\(skip.output)")
        await fleet.shutdown()
    }

    /// One vocabulary: the files come from the flag, else the variable the stages read (as in a pod,
    /// where the runbook's `kubectl exec ... fleet-admin send-test` finds DESTINATIONS_FILE), and a
    /// command without one names both; a dry run renders without any secret.
    @Test func adminCommandsReadTheStagesEnvironmentAndNameWhatIsMissing() async throws {
        let root = FleetHarness.root.path
        let noSecrets = [
            "SLACK_WEBHOOK_CUSTOMER_HEALTH": "", "SLACK_WEBHOOK_CS_ESCALATIONS": "",
            "SLACK_WEBHOOK_REVENUE_SIGNALS": "",
            "SLACK_WEBHOOK_BILLING_ALERTS": "",
        ]
        let files = [
            "RULES_FILE": root + "/config/rules.yaml", "DESTINATIONS_FILE": root + "/config/destinations.yaml",
        ]
        let dry = try await Self.admin(
            ["send-test", "billing-alerts", "--dry-run"], env: noSecrets.merging(files) { $1 })
        #expect(
            dry.status == 0 && dry.output.contains("destination: billing-alerts") && dry.output.contains("placeholder"),
            "\(dry.output)")
        let check = try await Self.admin(["rules", "check"], env: files)
        #expect(check.status == 0 && check.output.contains("OK \(root)/config/rules.yaml"), "\(check.output)")
        let test = try await Self.admin(["rules", "test", root + "/config/rules-tests"], env: files)
        #expect(test.status == 0 && test.output.contains("fixtures passed"), "\(test.output)")
        let none = try await Self.admin(
            ["check-config"], env: ["RULES_FILE": "", "DESTINATIONS_FILE": "", "SCORING_FILE": "", "INPUTS_FILE": ""])
        #expect(none.status != 0 && none.output.contains("give --rules or set RULES_FILE"), "\(none.output)")
        // The README's own command: an inputs file alone is checked, and the summary says what was not.
        let inputsOnly = try await Self.admin(
            ["check-config", "--inputs", root + "/config/inputs/inputs.yaml"],
            env: ["RULES_FILE": "", "DESTINATIONS_FILE": "", "SCORING_FILE": "", "INPUTS_FILE": ""])
        #expect(
            inputsOnly.status == 0
                && inputsOnly.output.contains("OK: built-in scoring defaults, \(root)/config/inputs/inputs.yaml")
                && inputsOnly.output.contains("not checked, none given: rules (--rules or RULES_FILE)"),
            "\(inputsOnly.output)")
    }

    @Test func deadLettersAreInspectedReplayedOnceAndNotPostedTwice() async throws {
        let fleet = try await FleetHarness(destinations: ["archived", "calm"])
        fleet.sink.setDefault(.channelIsArchived, path: fleet.path("archived"))
        let dispatcher = try StageProcess("dispatcher", env: fleet.dispatcherEnv())
        defer { dispatcher.stopWithoutWaiting() }
        let archived = (0..<3).map { FleetHarness.alert($0, destination: "archived", tag: "replay-archived") }
        let calm = (0..<2).map { FleetHarness.alert($0, destination: "calm", account: "acme", tag: "replay-calm") }
        try await fleet.produce(archived + calm)
        _ = try await fleet.read("alerts-dlt", partitions: 3, timeout: .seconds(30)) { $0.count >= 3 }
        let calmDone = await fleet.waitForDeliveries(timeout: .seconds(30), watching: [dispatcher]) {
            $0["calm"]?.count == 2
        }
        #expect(calmDone, "calm: \(fleet.delivered()["calm"] ?? [:])\n\(dispatcher.log.suffix(2000))")
        let env = fleet.env()

        // Inspect: the reason and the source, never the URL.
        let inspect = try await Self.admin(["dlt", "inspect", "alerts-dlt"], env: env)
        #expect(inspect.status == 0, "\(inspect.output)")
        #expect(inspect.output.components(separatedBy: "code channel_is_archived").count - 1 == 3, "\(inspect.output)")
        #expect(inspect.output.contains("from t.alerts["))
        for alert in archived {
            #expect(
                inspect.output.contains(
                    "alert \(alert.alertId) (customer_at_risk) account \(alert.accountId) -> archived"))
        }
        #expect(!inspect.output.contains("127.0.0.1:\(fleet.port)"), "a webhook URL reached the output")

        // The channel is back. A dry run sends nothing.
        fleet.sink.setDefault(.ok, path: fleet.path("archived"))
        let dry = try await Self.admin(
            ["dlt", "replay", "alerts-dlt", "--destination", "archived", "--dry-run"], env: env)
        #expect(
            dry.status == 0 && dry.output.contains("3 of 3 matching dead letters")
                && dry.output.contains("nothing sent"), "\(dry.output)")
        #expect(try fleet.size("alerts", partitions: 12) == 5, "the dry run sent something")

        // The replay: each alert delivered once.
        let replay = try await Self.admin(["dlt", "replay", "alerts-dlt", "--destination", "archived"], env: env)
        #expect(replay.status == 0 && replay.output.contains("sent 3, refused 0"), "\(replay.output)")
        let replayed = await fleet.waitForDeliveries(timeout: .seconds(30), watching: [dispatcher]) {
            $0["archived"]?.count == 3
        }
        #expect(
            replayed,
            "archived after the replay: \(fleet.delivered()["archived"] ?? [:])\n\(dispatcher.log.suffix(2000))")

        // Again: the delivery log skips them. A new alert behind them on the same partition shows
        // the dispatcher has read past them.
        let again = try await Self.admin(["dlt", "replay", "alerts-dlt", "--destination", "archived"], env: env)
        #expect(again.status == 0 && again.output.contains("sent 3"), "\(again.output)")
        let sentinel = FleetHarness.alert(99, destination: "archived", tag: "replay-sentinel")
        try await fleet.produce([sentinel])
        let passed = await fleet.waitForDeliveries(timeout: .seconds(30), watching: [dispatcher]) {
            $0["archived"]?[sentinel.alertId] == 1
        }
        #expect(passed, "the sentinel: \(fleet.delivered()["archived"] ?? [:])")
        #expect(
            fleet.delivered()["archived"]?.values.allSatisfy { $0 == 1 } == true,
            "posted twice: \(fleet.delivered()["archived"] ?? [:])")

        // The dispatcher's metrics: every answer per destination name, consumer lag per input
        // partition, and no URL.
        let port = try #require(
            dispatcher.log.range(of: #""port":"(\d+)""#, options: .regularExpression)
                .flatMap { Int(dispatcher.log[$0].dropFirst(8).dropLast(1)) }, "no http port in the dispatcher's log")
        // The sink records a post before the dispatcher has read its answer: scrape until the
        // sentinel's answer is counted (a deadline, not a sleep).
        func deliveredToArchived(_ lines: [Substring]) -> Int? {
            lines.first {
                $0.hasPrefix("fleet_deliveries_total{") && $0.contains(#"destination="archived""#)
                    && $0.contains(#"outcome="delivered""#)
            }
            .flatMap { Int($0.split(separator: " ").last ?? "") }
        }
        var metrics = ""
        _ = try await BoundedWait.until(.seconds(10)) {
            metrics = try await HTTPGet.body(port: port, path: "/metrics")
            return (deliveredToArchived(metrics.split(separator: "\n")) ?? 0) >= 4
        }
        let lines = metrics.split(separator: "\n")
        #expect(
            lines.contains {
                $0.hasPrefix("fleet_deliveries_total{") && $0.contains(#"destination="archived""#)
                    && $0.contains(#"outcome="channel_is_archived""#) && $0.hasSuffix(" 3")
            },
            "\(lines.filter { $0.hasPrefix("fleet_deliveries_total") })")
        // 3 replayed and the sentinel: the second replay posted nothing.
        #expect(deliveredToArchived(lines) == 4, "\(lines.filter { $0.hasPrefix("fleet_deliveries_total") })")
        #expect(
            lines.contains {
                $0.hasPrefix("fleet_deliveries_total{") && $0.contains(#"destination="calm""#)
                    && $0.contains(#"outcome="delivered""#)
            })
        #expect(
            lines.contains {
                $0.hasPrefix("fleet_consumer_lag{") && $0.contains(#"stage="dispatcher""#)
                    && $0.contains(#"topic="t.alerts""#)
            })
        #expect(
            lines.contains {
                $0.hasPrefix("fleet_dispatch_post_duration_seconds") && $0.contains(#"destination="archived""#)
            })
        #expect(
            !metrics.contains("127.0.0.1:\(fleet.port)") && !metrics.contains("/services/"),
            "a webhook URL reached /metrics")

        // The delivery log says what was posted where, with Slack's answer.
        let log = try await Self.admin(["delivery-log", "--destination", "archived"], env: env)
        #expect(log.status == 0, "\(log.output)")
        // The replayed alerts keep their history: one attempt (the 410) before the dead letter.
        for alert in archived {
            #expect(
                log.output.contains("-> archived  Slack answered 200 ok  retries 1  alert \(alert.alertId)"),
                "\(log.output)")
        }
        #expect(
            log.output.contains("-> archived  Slack answered 200 ok  retries 0  alert \(sentinel.alertId)"),
            "\(log.output)")
        let acme = try await Self.admin(["delivery-log", "--account", "acme"], env: env)
        #expect(acme.output.contains("2 alerts delivered"), "\(acme.output)")
        await fleet.shutdown()
    }
}
