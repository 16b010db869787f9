import AlertRules
import ArgumentParser
import Contracts
import FleetOps
import Foundation
import HealthModel
import Kafka
import Logging
import SlackDelivery
import Stages
import Synchronization
import WorkerRuntime

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `fleet-admin demo`: the fleet as it ships, on the embedded default. It starts the local broker
/// (`fleet-admin broker`), the local Slack-like sink (`fleet-admin slack-sink`) and the three stage
/// executables (`ingest-scorer`, `evaluator`, `dispatcher`) as separate processes, feeds a seeded
/// sample day by day at the pace the scorer consumes it (the local broker drops the oldest data
/// of a partition past 5 MiB), prints every Slack message with its channel, and ends with a
/// summary: events, rejected, scores, alerts, messages per channel, duplicates.
///
/// Every destination is a Slack app channel of the sink, so the alert lifecycle shows: follow-ups
/// reply in their episode's thread, the recovery edits the message; critical alerts get a short
/// response SLA (1 business hour, unless the rules file has its own `sla`), so an unanswered one
/// escalates; and at the end the demo clicks Acknowledge on one open alert (a signed request to
/// the dispatcher's `/slack/actions`, as Slack sends it) and shows its message edited in place.
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
    @Option(
        help:
            "How long alerts about one account wait for others raised with them before one message goes (the dispatcher's GROUP_WAIT_MS), in ms."
    ) var groupWaitMs = 300
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
        guard (0...60_000).contains(groupWaitMs) else {
            throw ValidationError("--group-wait-ms \(groupWaitMs): give 0 to 60000 (the dispatcher's bound)")
        }
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
        var rulesText = try String(contentsOfFile: rules, encoding: .utf8)
        var rulesConfig = try RulesConfig.parse(yaml: rulesText, file: rules)
        var rulesPath = rules
        let names = Set(rulesConfig.routes.map(\.destination)).sorted()
        let channels = Dictionary(uniqueKeysWithValues: names.map { (Self.channelId($0), $0) })
        var slaNote = "the rules file's own response SLAs"
        if rulesConfig.sla.isEmpty, let target = names.contains("cs-escalations") ? "cs-escalations" : names.first {
            // A short SLA for critical alerts, so the sample shows an escalation.
            rulesText +=
                "\n# Added by fleet-admin demo: a short response SLA, so an unanswered critical alert escalates.\n"
                + "sla:\n  critical:\n    respond_within: 1h\n    escalate_to:\n      - {destinations: [\(target)]}\n"
            rulesPath = run.appendingPathComponent("rules.yaml").path
            try rulesText.write(toFile: rulesPath, atomically: true, encoding: .utf8)
            rulesConfig = try RulesConfig.parse(yaml: rulesText, file: rulesPath)
            slaNote = "critical alerts must be acknowledged within 1 business hour, else they escalate to #\(target)"
        }
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
            guard let message = SinkMessage(line: line, channels: channels) else { return }
            sinkLog.add(message)
            guard printMessages else { return }
            if message.edit {
                say("edit #\(message.channel) \(message.summary)")
            } else {
                say("slack #\(message.channel) \(message.reply ? "↳ " : "")\(message.summary)")
            }
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

        // 3. A destinations file for the sink: one Slack app channel per destination the rules route to.
        let destinationsFile = run.appendingPathComponent("destinations.yaml")
        var yaml =
            "# Written by fleet-admin demo: every destination of \(rules) is a Slack app channel of the local Slack sink.\ndestinations:\n"
        for name in names {
            yaml +=
                "  \(name):\n    type: slack_app\n    token: ${DEMO_SLACK_BOT_TOKEN}\n    channel: \(Self.channelId(name))\n"
            yaml +=
                "    api_url: http://127.0.0.1:\(port)/api\n    allow_insecure_http: true\n    rate_per_second: \(perSecond)\n    burst: 5\n"
        }
        try yaml.write(to: destinationsFile, atomically: true, encoding: .utf8)
        say(
            "local Slack sink: http://127.0.0.1:\(port), a Slack app channel each for \(names.map { "#\($0)" }.joined(separator: ", ")); \(slaNote)"
        )
        // The Slack app's signing secret for this run: the demo signs its click with it, as Slack would.
        let signingSecret = (0..<4).map { _ in String(UInt64.random(in: 0...UInt64.max), radix: 16) }.joined()
        // Feedback links ("Useful" / "Not useful" on every message) on a port chosen now, so the
        // links' base URL is the address they are served at; the demo's CSMs click them at the end.
        let feedbackSecret = (0..<4).map { _ in String(UInt64.random(in: 0...UInt64.max), radix: 16) }.joined()
        let feedbackPort = try LocalPort.free()
        let feedbackBase = "http://127.0.0.1:\(feedbackPort)"

        // 4. The three stages, each its own process and consumer group.
        var env = ProcessInfo.processInfo.environment
        env.merge([
            "KAFKA_BROKERS": brokers, "TOPIC_PREFIX": topicPrefix,
            "KAFKA_CONSUMER_SESSION_TIMEOUT_MS": "6000", "KAFKA_CONSUMER_HEARTBEAT_INTERVAL_MS": "300",
            "KAFKA_CONSUMER_FETCH_WAIT_MAX_MS": "10", "KAFKA_CONSUMER_AUTO_COMMIT_INTERVAL_MS": "500",
            "KAFKA_CONSUMER_QUEUED_MIN_MESSAGES": "200000",
            "HTTP_PORT": "0", "HTTP_HOST": "127.0.0.1", "LOG_LEVEL": logLevel, "LOG_FORMAT": "json",
            "COMMIT_INTERVAL_MS": "1000", "RULES_FILE": rulesPath, "DESTINATIONS_FILE": destinationsFile.path,
            // The local sink accepts any bot token; the Slack app's interactivity comes to FEEDBACK_PORT.
            "DEMO_SLACK_BOT_TOKEN": "demo-bot-token", "SLACK_SIGNING_SECRET": signingSecret,
            "FEEDBACK_PORT": "\(feedbackPort)", "FEEDBACK_BASE_URL": feedbackBase, "FEEDBACK_SECRET": feedbackSecret,
            // The sample replays weeks of history in seconds: quiet hours and digests on today's wall
            // clock would hold its alerts until tomorrow morning.
            "DISPATCHER_SCHEDULE": "off", "GROUP_WAIT_MS": "\(groupWaitMs)",
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

        // 7. The lifecycle: someone acknowledges an open alert; its message is edited in place.
        try await acknowledgeOne(
            brokers: brokers, actionsPort: try Self.feedbackPort(run: run), secret: signingSecret, sinkLog: sinkLog)

        // 8. The CSMs' verdicts on the messages, and what they say of each rule.
        try await rateMessages(
            brokers: brokers, feedbackPort: feedbackPort,
            signer: FeedbackLinkSigner(
                baseURL: feedbackBase, secret: SigningSecret(feedbackSecret), lifetimeMs: 14 * 86_400_000),
            stories: generator.stories)
        try await printPrecision(brokers: brokers, sampleStart: generator.options.start)

        // 9. The summary.
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
                + "\(deadLettered) dead-lettered, \(summary.edits) edited in place, \(summary.replies) thread replies, "
                + "\(summary.escalations) escalations, duplicates \(summary.duplicates)")
        say(
            "messages per channel: "
                + summary.perChannel.sorted { $0.key < $1.key }.map { "#\($0.key) \($0.value)" }.joined(separator: ", ")
        )
    }

    /// The Slack app channel id of a demo destination: `C` + its name in upper case, letters and digits.
    static func channelId(_ destination: String) -> String {
        "C" + destination.uppercased().filter { ($0.isASCII && $0.isLetter) || ($0.isASCII && $0.isNumber) }
    }

    /// The dispatcher's feedback port (where `/slack/actions` listens), read from its log.
    static func feedbackPort(run: URL) throws -> Int {
        let log = (try? String(contentsOf: run.appendingPathComponent("dispatcher.log"), encoding: .utf8)) ?? ""
        guard let r = log.range(of: #""feedback_port":"(\d+)""#, options: .regularExpression),
            let port = Int(log[r].dropFirst(17).dropLast(1))
        else { throw DemoError("the dispatcher logged no feedback port; see \(run.path)/dispatcher.log") }
        return port
    }

    /// Clicks Acknowledge on the most severe open alert whose message is in a channel, as Slack
    /// would (a signed `block_actions` request to the dispatcher's `/slack/actions`), and waits for
    /// its message to be edited in place.
    func acknowledgeOne(brokers: String, actionsPort: Int, secret: String, sinkLog: SinkLog) async throws {
        let cluster = try ClusterOptions.parse(["--brokers", brokers, "--prefix", topicPrefix])
        let read = try await OpsTopics.read(cluster: cluster, rules: rules, scores: false)
        let rows = OpenAlerts.rows(
            states: read.states, alerts: read.alerts, deliveries: read.deliveries, rules: read.rules,
            query: OpenAlertsQuery(), now: Timestamp(millisecondsSinceEpoch: WallClock.system.milliseconds()))
        guard
            let row = rows.first(where: { $0.delivery?.ts != nil && $0.acknowledgedBy == nil && $0.owner == nil }),
            let delivery = row.delivery
        else {
            say("lifecycle: no open alert left to acknowledge (\(rows.count) open episodes)")
            return
        }
        let target = AlertActionsBlock.Target(
            alertId: row.lastAlertId ?? delivery.alertId, accountId: row.account, rule: row.rule,
            destination: delivery.destination)
        let now = WallClock.system.milliseconds() / 1000
        let click = SlackInteraction(
            userId: "U0DEMOCSM", teamId: "T0DEMO", action: .acknowledge, actionTs: "\(now).000100", target: target)
        let signed = click.signedRequest(by: SlackRequestVerifier(secret: SigningSecret(secret)), at: now)
        let editsBefore = sinkLog.summary.edits
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(actionsPort)/slack/actions")!)
        request.httpMethod = "POST"
        request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "content-type")
        for (name, value) in signed.headers { request.setValue(value, forHTTPHeaderField: name) }
        request.httpBody = Data(signed.body)
        let session = URLSession(configuration: .ephemeral)
        defer { session.finishTasksAndInvalidate() }
        let (_, response) = try await session.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard status == 200 else { throw DemoError("the click was refused with HTTP \(status)") }
        say(
            "lifecycle: <@U0DEMOCSM> clicked Acknowledge on \(row.account)'s \(row.rule) alert in #\(delivery.destination) (signed like Slack, to /slack/actions)"
        )
        let deadline = ContinuousClock.now + .seconds(60)
        while sinkLog.summary.edits <= editsBefore {
            guard ContinuousClock.now < deadline else {
                throw DemoError("the acknowledged alert's message was not edited within 60 s")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// The CSMs' verdicts: each alert message delivered to a channel is rated by clicking its
    /// "Useful" or "Not useful" link as a person does (the link's confirmation page, then its
    /// button: a GET, then a POST of the signed fields to the dispatcher's `/feedback`). The
    /// simulated CSMs know the sample's stories: an alert on an account with a story of its kind
    /// (a risk story for a risk alert, the expansion for a growth alert) is useful, any other is
    /// not. Recoveries, edits and digests carry no links.
    func rateMessages(brokers: String, feedbackPort: Int, signer: FeedbackLinkSigner, stories: SampleGenerator.Stories)
        async throws
    {
        let cluster = try ClusterOptions.parse(["--brokers", brokers, "--prefix", topicPrefix])
        let read = try await OpsTopics.read(cluster: cluster, rules: rules, scores: false)
        let delivered = Set(read.deliveries.filter { $0.suppressed == nil }.map { "\($0.alertId) \($0.destination)" })
        let risky = Set(
            [stories.collapse, stories.billingRetry, stories.silent, stories.cancellation].compactMap { $0 })
        let growing = Set([stories.expansion].compactMap { $0 })
        var seen: Set<String> = []
        var useful = 0
        var notUseful = 0
        let session = URLSession(configuration: .ephemeral)
        defer { session.finishTasksAndInvalidate() }
        let now = Timestamp(millisecondsSinceEpoch: WallClock.system.milliseconds())
        for alert in read.alerts where alert.update == nil && alert.type != .recovered && alert.type != .digest {
            let key = "\(alert.alertId) \(alert.destination)"
            guard delivered.contains(key), seen.insert(key).inserted else { continue }
            let growth = alert.type == .expansionSignal || alert.type == .upsellOpportunity
            let isUseful = growth ? growing.contains(alert.accountId) : risky.contains(alert.accountId)
            let verdict: FeedbackVerdict = isUseful ? .useful : .notUseful
            guard let url = signer.links(for: alert, deliveredAt: now).first(where: { $0.0 == verdict })?.1,
                let query = url.split(separator: "?", maxSplits: 1).last.map(String.init)
            else { continue }
            let endpoint = "http://127.0.0.1:\(feedbackPort)\(FeedbackLink.path)"
            // The link opens a confirmation page (a GET records nothing: link previewers fetch it too) ...
            let (_, page) = try await session.data(from: URL(string: "\(endpoint)?\(query)")!)
            guard (page as? HTTPURLResponse)?.statusCode == 200 else {
                throw DemoError(
                    "the feedback link of \(alert.alertId) was refused with HTTP \((page as? HTTPURLResponse)?.statusCode ?? 0)"
                )
            }
            // ... whose button posts the signed fields: that is the click that counts.
            var request = URLRequest(url: URL(string: endpoint)!)
            request.httpMethod = "POST"
            request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "content-type")
            request.httpBody = Data(query.utf8)
            let (_, answer) = try await session.data(for: request)
            guard (answer as? HTTPURLResponse)?.statusCode == 200 else {
                throw DemoError(
                    "the feedback on \(alert.alertId) was not recorded: HTTP \((answer as? HTTPURLResponse)?.statusCode ?? 0)"
                )
            }
            if isUseful { useful += 1 } else { notUseful += 1 }
        }
        say(
            "feedback: the CSMs clicked Useful on \(useful) messages and Not useful on \(notUseful) (each link's page, then its button, to /feedback)"
        )
    }

    /// `fleet-admin report precision --from-kafka` over the run: every alert raised since the
    /// sample's first day, with the verdicts just clicked.
    func printPrecision(brokers: String, sampleStart: Timestamp) async throws {
        let today = Timestamp(millisecondsSinceEpoch: WallClock.system.milliseconds())
        let days = max(1, today.epochDay - sampleStart.epochDay + 1)
        let report = try ReportCommand.Precision.parse([
            "--from-kafka", "--brokers", brokers, "--topic-prefix", topicPrefix, "--since", "\(days)d", "--min-rated",
            "1",
        ])
        say("fleet-admin report precision --from-kafka --since \(days)d --min-rated 1:")
        try await report.run()
        fflush(nil)  // the report prints through stdout's buffer; the demo's lines do not
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

/// One line of the sink: `10:00:01.234 POST /services/local/<channel> -> 200 ok | summary | ids: a,b`
/// for a webhook, `10:00:01.234 POST /api/chat.postMessage -> 200 ok | channel C… [reply ][#colour] …`
/// for a Slack app (`chat.update` for an edit).
struct SinkMessage: Sendable {
    var channel: String
    var summary: String
    var ids: [String]
    var ok: Bool
    /// An edit of a posted message (`chat.update`), not a message.
    var edit = false
    /// A reply in a message's thread.
    var reply = false

    /// `channels` names the Slack app channel ids (id -> destination).
    init?(line: String, channels: [String: String] = [:]) {
        guard let path = line.split(separator: " ").dropFirst(2).first else { return nil }
        let afterPath = line[line.range(of: String(path))!.upperBound...]
        if path.hasPrefix("/services/") {
            channel = String(path.split(separator: "/").last ?? "")
        } else if path.hasSuffix("/chat.postMessage") || path.hasSuffix("/chat.update") {
            guard let r = afterPath.range(of: #"\| channel [A-Z0-9]+ "#, options: .regularExpression) else {
                return nil
            }
            let id = String(afterPath[r].dropFirst(10).dropLast())
            channel = channels[id] ?? id
            edit = path.hasSuffix("/chat.update")
            reply = afterPath[r.upperBound...].hasPrefix("reply ")
        } else {
            return nil
        }
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
            // An edit names the alert of the message it edits: it is not a second post of it.
            if message.ok, !message.edit {
                for id in message.ids { s.seen[message.channel + " " + id, default: 0] += 1 }
            }
        }
    }

    var count: Int { state.withLock { $0.messages.count } }

    var summary:
        (
            messages: Int, alertIds: Int, duplicates: Int, perChannel: [String: Int], edits: Int, replies: Int,
            escalations: Int
        )
    {
        state.withLock { s in
            let posts = s.messages.filter { !$0.edit }
            let perChannel = posts.reduce(into: [String: Int]()) { $0[$1.channel, default: 0] += 1 }
            return (
                posts.count, s.seen.count, s.seen.values.reduce(0) { $0 + max(0, $1 - 1) }, perChannel,
                s.messages.count - posts.count, posts.filter(\.reply).count,
                posts.filter { $0.summary.contains("Not acknowledged:") }.count
            )
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

/// A free TCP port on 127.0.0.1, for a child that must be told its port before it starts.
enum LocalPort {
    static func free() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw DemoError("no socket for a free port: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { throw DemoError("cannot bind 127.0.0.1:0: errno \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw DemoError("getsockname failed: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
