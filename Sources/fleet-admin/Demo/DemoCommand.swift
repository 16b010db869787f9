import AlertRules
import ArgumentParser
import Contracts
import Foundation
import HealthModel
import Kafka
import Logging
import Stages
import Synchronization
import WorkerRuntime

/// `fleet-admin demo`: the fleet as it ships, on the embedded default. It starts the local broker
/// (`fleet-admin broker`), the local Slack-like sink (`fleet-admin slack-sink`) and the three stage
/// executables (`ingest-scorer`, `evaluator`, `dispatcher`) as separate processes, feeds a seeded
/// sample day by day at the pace the scorer consumes it (the local broker drops the oldest data
/// of a partition past 5 MiB), prints every Slack message with its channel, and ends with a
/// summary: events, rejected, scores, alerts, messages per channel, duplicates.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract:
            "Run the fleet (broker, three stages, Slack sink: separate processes) on sample data and print each Slack message."
    )

    @Option(help: "Sample accounts.") var accounts = 40
    @Option(help: "Sample days.") var days = 45
    @Option(help: "Sample seed.") var seed: UInt64 = 7
    @Option(help: "Rules file.") var rules = "config/rules.yaml"
    @Option(help: "Scoring file (default: the built-in scoring defaults).") var scoring: String?
    @Option(help: "Topic catalog.") var topics = "topics/topics.yaml"
    @Option(
        name: [.customLong("prefix"), .customLong("topic-prefix", withSingleDash: false)],
        help: "Prefix before every topic name (as TOPIC_PREFIX).") var topicPrefix = "demo."
    @Option(help: "Messages per second per destination (Slack allows 1; the demo goes faster).") var perSecond = 20.0
    @Option(help: "Directory for the bootstrap file, the destinations file and the processes' logs.") var runDirectory =
        "run/demo"
    @Option(help: "Most events waiting for the scorer at any time (the local broker's partitions hold 5 MiB each).")
    var maxLag = 100_000
    @Flag(help: "Do not print each Slack message.") var quiet = false
    @Option(help: "Log level of the stages' logs in the run directory (trace, debug, info, warning, error).")
    var logLevel = "info"

    /// Bytes of one account's scorer state in the changelog (measured: about 1 KiB, with margin).
    static let stateBytesPerAccount = 1_400
    /// What one partition of the local broker keeps before it drops its oldest data.
    static let partitionCapBytes = 5 * 1024 * 1024

    func validate() throws {
        guard accounts >= 1, days >= 1 else { throw ValidationError("--accounts and --days must be at least 1") }
        guard days <= 90 else {
            throw ValidationError(
                "--days \(days): the scorer keeps 90 days of history per account; ask for 90 or fewer")
        }
        // Every commit interval the scorer writes the state of each account that changed; one such
        // flush must fit well inside a partition of the local broker, or restores read dropped data.
        let perPartition = accounts * Self.stateBytesPerAccount / 12
        guard perPartition <= Self.partitionCapBytes / 2 else {
            throw ValidationError(
                "--accounts \(accounts) is more than the local broker can hold: one state flush needs about "
                    + "\(perPartition / 1024) KiB per partition of ingest-scorer-state, and the mock broker keeps 5 MiB per partition "
                    + "(no compaction). Ask for at most \(Self.partitionCapBytes / 2 * 12 / Self.stateBytesPerAccount) accounts, or run the "
                    + "fleet against a real Kafka cluster.")
        }
    }

    func run() async throws {
        let started = ContinuousClock.now
        let run = URL(fileURLWithPath: runDirectory)
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        let rulesConfig = try RulesConfig.parse(yaml: String(contentsOfFile: rules, encoding: .utf8), file: rules)
        var children: [ChildProcess] = []
        defer { for child in children.reversed() { child.stop(grace: 10) } }

        // 1. The local broker.
        let bootstrapFile = run.appendingPathComponent("bootstrap.txt")
        try? FileManager.default.removeItem(at: bootstrapFile)
        let broker = try ChildProcess(
            name: "broker", binary: "fleet-admin",
            arguments: ["broker", "--topics", topics, "--prefix", topicPrefix, "--bootstrap-file", bootstrapFile.path],
            environment: ProcessInfo.processInfo.environment, logFile: run.appendingPathComponent("broker.log"))
        children.append(broker)
        guard
            let brokers = broker.waitForLine(
                timeout: 30,
                { line in
                    line.range(of: #"KAFKA_BROKERS=\S+"#, options: .regularExpression).map {
                        String(line[$0].dropFirst("KAFKA_BROKERS=".count))
                    }
                })
        else { throw DemoError("the local broker did not start within 30 s; see \(run.path)/broker.log") }
        say("local broker: KAFKA_BROKERS=\(brokers) (topics of \(topics), prefix \"\(topicPrefix)\")")

        // 2. The Slack-like sink; it prints a line per message, which the demo reprints with its channel.
        let sinkLog = SinkLog()
        let printMessages = !quiet
        let sink = try ChildProcess(
            name: "slack-sink", binary: "fleet-admin", arguments: ["slack-sink", "--port", "0", "--ids"],
            environment: ProcessInfo.processInfo.environment, logFile: run.appendingPathComponent("slack-sink.log")
        ) { line in
            guard let message = SinkMessage(line: line) else { return }
            sinkLog.add(message)
            if printMessages { say("slack #\(message.channel) \(message.summary)") }
        }
        children.append(sink)
        guard
            let port = sink.waitForLine(
                timeout: 30,
                { line in
                    line.range(of: #"listening on http://[0-9.]+:(\d+)"#, options: .regularExpression).flatMap {
                        Int(line[$0].split(separator: ":").last ?? "")
                    }
                })
        else { throw DemoError("the Slack sink did not start within 30 s; see \(run.path)/slack-sink.log") }

        // 3. A destinations file for the sink: one path per destination the rules route to.
        let names = Set(rulesConfig.routes.map(\.destination)).sorted()
        let destinationsFile = run.appendingPathComponent("destinations.yaml")
        var yaml =
            "# Written by fleet-admin demo: every destination of \(rules) posts to the local Slack sink.\ndestinations:\n"
        for name in names {
            yaml +=
                "  \(name):\n    type: slack\n    url: http://127.0.0.1:\(port)/services/local/\(name)\n    allow_insecure_http: true\n"
            yaml += "    rate_per_second: \(perSecond)\n    burst: 5\n"
        }
        try yaml.write(to: destinationsFile, atomically: true, encoding: .utf8)
        say("local Slack sink: http://127.0.0.1:\(port) for \(names.map { "#\($0)" }.joined(separator: ", "))")

        // 4. The three stages, each its own process and consumer group.
        var env = ProcessInfo.processInfo.environment
        env.merge([
            "KAFKA_BROKERS": brokers, "TOPIC_PREFIX": topicPrefix,
            "KAFKA_CONSUMER_SESSION_TIMEOUT_MS": "6000", "KAFKA_CONSUMER_HEARTBEAT_INTERVAL_MS": "300",
            "KAFKA_CONSUMER_FETCH_WAIT_MAX_MS": "10", "KAFKA_CONSUMER_AUTO_COMMIT_INTERVAL_MS": "500",
            "KAFKA_CONSUMER_QUEUED_MIN_MESSAGES": "200000",
            "HTTP_PORT": "0", "HTTP_HOST": "127.0.0.1", "LOG_LEVEL": logLevel, "LOG_FORMAT": "json",
            "COMMIT_INTERVAL_MS": "1000", "RULES_FILE": rules, "DESTINATIONS_FILE": destinationsFile.path,
            // The sample replays weeks of history in seconds: quiet hours and digests on today's wall
            // clock would hold its alerts until tomorrow morning.
            "DISPATCHER_SCHEDULE": "off", "GROUP_WAIT_MS": "300",
            // History is scored in its own time: the wall clock must not move its accounts to today.
            "TIME_MODE": "replay",
        ]) { _, new in new }
        if let scoring { env["SCORING_FILE"] = scoring }
        for stage in FleetStage.allCases {
            children.append(
                try ChildProcess(
                    name: stage.name, binary: stage.name, environment: env,
                    logFile: run.appendingPathComponent("\(stage.name).log")))
        }
        say(
            "stages: ingest-scorer, evaluator, dispatcher (logs in \(run.path)/); quiet hours and digests off, the scorer in event time: the sample replays history"
        )

        // 5. The sample, day by day, paced against the scorer.
        let lag = try LagReader(brokers: brokers, prefix: topicPrefix, catalog: topics)
        defer { lag.close() }  // before the children's defer stops the broker
        let generator = SampleGenerator(options: .init(seed: seed, accounts: accounts, days: days))
        let parser = EventParser()
        let producer = try KafkaProducer(
            configuration: KafkaConfiguration(bootstrapServers: brokers, ["linger.ms": "5"]), logger: Self.quietLogger)
        let failed = Atomic<Int>(0)
        var produced = 0
        for day in 0..<days {
            for line in generator.lines(forDay: day) {
                let key = (try? parser.parse(line).accountId) ?? "unkeyed"
                try producer.send(OutgoingRecord(topic: topicPrefix + FleetTopics.accountEvents, key: key, value: line))
                { result in
                    if case .failure = result { failed.add(1, ordering: .relaxed) }
                }
                produced += 1
            }
            try await producer.flush()
            while try lag.lag(group: FleetStage.ingestScorer.name, topics: [FleetTopics.accountEvents]) > Int64(maxLag)
            {
                try await Task.sleep(for: .milliseconds(200))
                guard children.allSatisfy({ $0.process.isRunning }) else {
                    throw DemoError(Self.deadChild(children, run: run))
                }
            }
        }
        await producer.shutdown()
        guard failed.load(ordering: .relaxed) == 0 else {
            throw DemoError("\(failed.load(ordering: .relaxed)) events could not be produced")
        }
        say(
            "produced \(produced) events for \(accounts) accounts over \(days) days; stories: \(generator.stories.summary)"
        )

        // 6. Wait until every stage has committed everything and the sink has been quiet a while.
        let deadline = ContinuousClock.now + .seconds(max(120, produced / 2_000))
        var quietSince = ContinuousClock.now
        var lastCount = -1
        while true {
            guard children.allSatisfy({ $0.process.isRunning }) else {
                throw DemoError(Self.deadChild(children, run: run))
            }
            let pending =
                try lag.lag(group: FleetStage.ingestScorer.name, topics: [FleetTopics.accountEvents])
                + lag.lag(group: FleetStage.evaluator.name, topics: [FleetTopics.healthScores])
                + lag.lag(group: FleetStage.dispatcher.name, topics: [FleetTopics.alerts] + FleetTopics.alertsRetry)
            let count = sinkLog.count
            if count != lastCount || pending > 0 {
                quietSince = ContinuousClock.now
                lastCount = count
            }
            if pending == 0, ContinuousClock.now - quietSince > .seconds(2) { break }
            guard ContinuousClock.now < deadline else {
                throw DemoError(
                    "the fleet did not finish within \(deadline - started): \(pending) records not yet committed; see the logs in \(run.path)/"
                )
            }
            try await Task.sleep(for: .milliseconds(250))
        }

        // 7. The summary.
        let rejected = try lag.size(FleetTopics.accountEventsDLT)
        let scores = try lag.size(FleetTopics.healthScores)
        let alerts = try lag.size(FleetTopics.alerts)
        let retried = try FleetTopics.alertsRetry.reduce(Int64(0)) { $0 + (try lag.size($1)) }
        let deadLettered = try lag.size(FleetTopics.alertsDLT)
        let summary = sinkLog.summary
        lag.close()
        for child in children.reversed() { child.stop(grace: 30) }
        children.removeAll()
        let elapsed = ContinuousClock.now - started
        say(
            "done in \(elapsed.formatted(.units(allowed: [.seconds], fractionalPart: .show(length: 1)))): \(produced) events, \(rejected) rejected, "
                + "\(scores) scores, \(alerts) alerts, \(summary.messages) Slack messages (\(summary.alertIds) alerts), \(retried) retried, "
                + "\(deadLettered) dead-lettered, duplicates \(summary.duplicates)")
        say(
            "messages per channel: "
                + summary.perChannel.sorted { $0.key < $1.key }.map { "#\($0.key) \($0.value)" }.joined(separator: ", ")
        )
    }

    static let quietLogger: Logger = {
        var l = Logger(label: "demo")
        l.logLevel = .error
        return l
    }()

    static func deadChild(_ children: [ChildProcess], run: URL) -> String {
        let dead = children.filter { !$0.process.isRunning }.map(\.name)
        return "\(dead.joined(separator: ", ")) stopped unexpectedly; see \(run.path)/\(dead.first ?? "broker").log"
    }
}

/// One line of the sink: `10:00:01.234 POST /services/local/<channel> -> 200 ok | summary | ids: a,b`.
struct SinkMessage: Sendable {
    var channel: String
    var summary: String
    var ids: [String]
    var ok: Bool

    init?(line: String) {
        guard let path = line.split(separator: " ").dropFirst(2).first, path.hasPrefix("/services/") else { return nil }
        channel = String(path.split(separator: "/").last ?? "")
        let afterPath = line[line.range(of: String(path))!.upperBound...]
        var text = String(afterPath)
        if let r = text.range(of: " | ids: ", options: .backwards) {
            ids = text[r.upperBound...].split(separator: ",").map(String.init)
            text = String(text[..<r.lowerBound])
        } else {
            ids = []
        }
        summary = text.trimmingCharacters(in: .whitespaces)
        ok = summary.hasPrefix("-> 200")
    }
}

/// What reached the sink: messages per channel and alert ids posted more than once.
final class SinkLog: Sendable {
    private let state = Mutex<(messages: [SinkMessage], seen: [String: Int])>(([], [:]))

    func add(_ message: SinkMessage) {
        state.withLock { s in
            s.messages.append(message)
            // An alert id is per alert, and one alert may go to several channels: count per channel.
            if message.ok { for id in message.ids { s.seen[message.channel + " " + id, default: 0] += 1 } }
        }
    }

    var count: Int { state.withLock { $0.messages.count } }

    var summary: (messages: Int, alertIds: Int, duplicates: Int, perChannel: [String: Int]) {
        state.withLock { s in
            let perChannel = s.messages.reduce(into: [String: Int]()) { $0[$1.channel, default: 0] += 1 }
            return (s.messages.count, s.seen.count, s.seen.values.reduce(0) { $0 + max(0, $1 - 1) }, perChannel)
        }
    }
}

/// Committed offsets of a consumer group against the topics' ends, and topic sizes.
final class LagReader {
    let consumers: [String: KafkaConsumer]
    let prefix: String
    let brokers: String
    let partitions: [String: Int]

    init(brokers: String, prefix: String, catalog path: String) throws {
        self.brokers = brokers
        self.prefix = prefix
        var consumers: [String: KafkaConsumer] = [:]
        for stage in FleetStage.allCases {
            consumers[stage.name] = try KafkaConsumer(
                configuration: KafkaConfiguration(bootstrapServers: brokers, ["group.id": stage.name]),
                name: "demo-lag-\(stage.name)", logger: DemoCommand.quietLogger)
        }
        self.consumers = consumers
        let catalog = (try? TopicCatalog.parse(String(contentsOfFile: path, encoding: .utf8), file: path))?.topics ?? []
        partitions = Dictionary(catalog.map { ($0.name, $0.partitions) }) { a, _ in a }
    }

    private func tps(_ topic: String) -> [TopicPartition] {
        (0..<(partitions[topic] ?? 12)).map { TopicPartition(prefix + topic, Int32($0)) }
    }

    /// Records of `topics` not yet committed by `group`.
    func lag(group: String, topics: [String]) throws -> Int64 {
        guard let consumer = consumers[group] else { return 0 }
        var total: Int64 = 0
        for topic in topics {
            let list = tps(topic)
            let committed = try consumer.committed(list)
            for tp in list {
                let (low, high) = try consumer.watermarks(tp)
                total += max(0, high - max(low, (committed[tp] ?? nil) ?? low))
            }
        }
        return total
    }

    /// Records written to `topic` (the mock starts every partition at 0).
    func size(_ topic: String) throws -> Int64 {
        let consumer = consumers.values.first!
        return try tps(topic).reduce(Int64(0)) { $0 + (try consumer.watermarks($1).high) }
    }

    private var closed = false

    /// Closes the consumers (before the broker goes away).
    func close() {
        guard !closed else { return }
        closed = true
        for c in consumers.values { c.close() }
    }

    deinit { close() }
}

private func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
