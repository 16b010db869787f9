import Contracts
import Foundation
import Kafka
import Logging
import SlackSink
import TestSupport
import Testing
import WorkerRuntime

/// One stage executable (built beside the test bundle) run as a process against the test's broker.
final class StageProcess: @unchecked Sendable {
    let name: String
    let process = Process()
    private let stderrPipe = Pipe()
    private let lines = LogLines()
    private let follower: PipeFollower

    init(_ name: String, env extra: [String: String]) throws {
        self.name = name
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(
            name)
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw FleetTestError("\(name) not built at \(binary.path): run `swift build --build-tests` first")
        }
        process.executableURL = binary
        process.environment = ProcessInfo.processInfo.environment.merging(extra) { _, new in new }
        process.standardError = stderrPipe
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        follower = PipeFollower(stderrPipe.fileHandleForReading, into: lines)
    }

    var log: String { lines.text }

    /// The HTTP port the stage bound (from its "http listening" log line), awaited up to `timeout`;
    /// nil if it logged none.
    func httpPort(timeout: Duration) async -> Int? {
        await lines.match(upTo: timeout) { text in
            text.range(of: #""port":"(\d+)""#, options: .regularExpression).map {
                Int(text[$0].dropFirst(8).dropLast(1))!
            }
        }
    }

    /// Awaits (the log's lines, not a sleep) the log satisfying `match`; false after `timeout` or
    /// once the process closed its log (exited) without it.
    func waitForLog(timeout: Duration, _ match: @escaping @Sendable (String) -> Bool) async -> Bool {
        await lines.until(timeout, match)
    }

    /// kill -9: no drain, no commit, no goodbye to the group.
    func killHard() async {
        kill(process.processIdentifier, SIGKILL)
        _ = await ChildExit.within(.seconds(30), process)
        await lines.ended(within: .seconds(5))
    }

    /// SIGTERM, not waited for: a test's `defer` (after its own `stop`, or when it failed early);
    /// the process shuts down on its own, and `deinit` kills it if it is still running then.
    func stopWithoutWaiting() {
        if process.isRunning { process.terminate() }
    }

    /// SIGTERM, then the exit status (SIGKILL after `timeout`).
    @discardableResult
    func stop(timeout: TimeInterval = 30) async -> Int32 {
        if process.isRunning { process.terminate() }
        if await !ChildExit.within(.milliseconds(Int64(timeout * 1000)), process) {
            kill(process.processIdentifier, SIGKILL)
            _ = await ChildExit.within(.seconds(30), process)
        }
        await lines.ended(within: .seconds(5))
        return process.terminationStatus
    }

    deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
}

/// The local broker with every topic of the catalog, a Slack-like sink, and the environment the
/// stages take (mock-broker timings from platform-notes).
final class FleetHarness: @unchecked Sendable {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let logger: Logger = {
        var l = Logger(label: "fleet-test")
        l.logLevel = .error
        return l
    }()

    let cluster: MockCluster
    let sink: SlackSink
    let port: Int
    let directory: URL
    let prefix: String

    /// The bot token the Slack app destinations send (obviously fake).
    static let botToken = "fake-bot-token-for-fleet-tests"

    /// With `slackApp`, every destination is a Slack app (`chat.postMessage` to channel
    /// `channel(name)` on the sink's `/api`), else an incoming webhook on `path(name)`.
    init(destinations: [String], rate: Double = 50, burst: Int = 10, prefix: String = "t.", slackApp: Bool = false)
        async throws
    {
        self.prefix = prefix
        cluster = try MockCluster()
        let path = Self.root.appendingPathComponent("topics/topics.yaml").path
        let catalog = try TopicCatalog.parse(String(contentsOfFile: path, encoding: .utf8), file: path).prefixed(prefix)
        for topic in catalog.topics { try cluster.createTopic(topic.name, partitions: topic.partitions) }
        sink = SlackSink(recordRequests: true, recordBodies: true)
        port = try await sink.start()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "fleet-test-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var yaml = "destinations:\n"
        for name in destinations where slackApp {
            yaml +=
                "  \(name):\n    type: slack_app\n    token: ${FLEET_TEST_BOT_TOKEN}\n    channel: \(Self.channel(name))\n"
            yaml += "    api_url: http://127.0.0.1:\(port)/api\n    allow_insecure_http: true\n"
            yaml += "    rate_per_second: \(rate)\n    burst: \(burst)\n"
        }
        for name in destinations where !slackApp {
            yaml +=
                "  \(name):\n    url: http://127.0.0.1:\(port)/services/test/\(name)\n    allow_insecure_http: true\n"
            yaml += "    rate_per_second: \(rate)\n    burst: \(burst)\n"
        }
        try yaml.write(to: directory.appendingPathComponent("destinations.yaml"), atomically: true, encoding: .utf8)
    }

    /// The dispatcher alone, on test destinations: no rules file (its routes name other destinations).
    func dispatcherEnv(_ extra: [String: String] = [:]) -> [String: String] {
        env(["RULES_FILE": ""].merging(extra) { _, new in new })
    }

    func env(_ extra: [String: String] = [:]) -> [String: String] {
        [
            "KAFKA_BROKERS": cluster.bootstrapServers, "TOPIC_PREFIX": prefix,
            "KAFKA_CONSUMER_SESSION_TIMEOUT_MS": "6000", "KAFKA_CONSUMER_HEARTBEAT_INTERVAL_MS": "300",
            "KAFKA_CONSUMER_FETCH_WAIT_MAX_MS": "10", "KAFKA_PRODUCER_LINGER_MS": "2",
            "HTTP_PORT": "0", "HTTP_HOST": "127.0.0.1", "LOG_LEVEL": "info", "COMMIT_INTERVAL_MS": "200",
            "RULES_FILE": Self.root.appendingPathComponent("config/rules.yaml").path,
            "DESTINATIONS_FILE": directory.appendingPathComponent("destinations.yaml").path,
            "DISPATCHER_SCHEDULE": "off", "GROUP_WAIT_MS": "200",
            // The tests feed weeks-old history: the scorer follows its event time, not today's clock.
            "TIME_MODE": "replay",
            "FLEET_TEST_BOT_TOKEN": Self.botToken,
        ].merging(extra) { _, new in new }
    }

    func path(_ destination: String) -> String { "/services/test/\(destination)" }

    /// The channel id of a Slack app destination: `C` + the name in upper case, letters and digits.
    static func channel(_ destination: String) -> String {
        "CTEST" + destination.uppercased().filter { ($0.isASCII && $0.isLetter) || ($0.isASCII && $0.isNumber) }
    }

    /// Slack app destinations: per channel, alert id -> how many stored messages carry it in their
    /// metadata (what Slack holds: a post answered `ok`).
    func postedToChannels() -> [String: [String: Int]] {
        var out: [String: [String: Int]] = [:]
        for m in sink.storedMessages() {
            for id in m.alertIds { out[m.channel, default: [:]][id, default: 0] += 1 }
        }
        return out
    }

    /// Per destination: alert id -> how many 2xx posts named it.
    func delivered() -> [String: [String: Int]] {
        var out: [String: [String: Int]] = [:]
        for r in sink.requests() where r.response == .ok {
            let destination = String(r.path.split(separator: "/").last ?? "")
            for id in Self.alertIds(in: r.body) { out[destination, default: [:]][id, default: 0] += 1 }
        }
        return out
    }

    /// Requests that named each alert id, any answer (what the destination saw).
    func posted() -> [String: Int] {
        sink.requests().reduce(into: [:]) { counts, r in
            for id in Self.alertIds(in: r.body) { counts[r.path + " " + id, default: 0] += 1 }
        }
    }

    /// The ids in a rendered message's footer: "Alert <id> ·" or "Alerts <type> <id>, <type> <id> ·".
    static func alertIds(in body: [UInt8]) -> [String] {
        let text = String(decoding: body, as: UTF8.self)
        var out: [String] = []
        var rest = text[...]
        while let start = rest.range(of: "Alert") {
            let after = rest[start.upperBound...]
            for token in after.prefix(while: { $0 != "\u{00B7}" && $0 != "\"" }).split(whereSeparator: {
                $0 == " " || $0 == ","
            })
            where token.count >= 8 && token.allSatisfy(\.isHexDigit) {
                out.append(String(token))
            }
            rest = after
        }
        return out
    }

    func producer() throws -> KafkaProducer {
        try KafkaProducer(
            configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, ["linger.ms": "2"]),
            logger: Self.logger)
    }

    /// Produces alerts to `alerts` (keyed by destination) and waits for every acknowledgement.
    func produce(_ alerts: [AlertRecord]) async throws {
        let producer = try producer()
        for alert in alerts {
            _ = try await producer.send(
                OutgoingRecord(topic: prefix + "alerts", key: alert.destination, value: try RecordCoding.encode(alert)))
        }
        await producer.shutdown()
    }

    /// Reads `topic` (all partitions) until `done` holds or `timeout`.
    func read(_ topic: String, partitions: Int, timeout: Duration, done: ([ConsumedRecord]) -> Bool) async throws
        -> [ConsumedRecord]
    {
        let consumer = try KafkaConsumer(
            configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, ["fetch.wait.max.ms": "10"]),
            name: "reader", logger: Self.logger)
        defer { consumer.close() }
        try consumer.assign(
            Dictionary(
                uniqueKeysWithValues: (0..<partitions).map {
                    (TopicPartition(prefix + topic, Int32($0)), KafkaOffset.beginning)
                }))
        var records: [ConsumedRecord] = []
        let deadline = ContinuousClock.now + timeout
        while !done(records), ContinuousClock.now < deadline {
            if let r = try await consumer.next(timeout: .milliseconds(200)) { records.append(r) }
        }
        return records
    }

    /// Records written to `topic` (the mock starts every partition at 0).
    func size(_ topic: String, partitions: Int) throws -> Int {
        let consumer = try KafkaConsumer(
            configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), name: "sizer",
            logger: Self.logger)
        defer { consumer.close() }
        return Int(
            try (0..<partitions).reduce(Int64(0)) {
                $0 + (try consumer.watermarks(TopicPartition(prefix + topic, Int32($1))).high)
            })
    }

    /// Waits (on the sink's own condition, not a sleep) until `done` holds for what was delivered,
    /// checking each time a request arrives; false after `timeout`.
    /// Stops early (false) when one of `watching` has exited.
    func waitForDeliveries(timeout: Duration, watching: [StageProcess] = [], _ done: ([String: [String: Int]]) -> Bool)
        async -> Bool
    {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline, watching.allSatisfy({ $0.process.isRunning }) {
            if done(delivered()) { return true }
            _ = await sink.waitForRequests(count: sink.requestCount + 1, timeoutSeconds: 0.5)
        }
        return done(delivered())
    }

    /// A script of `holds` rounds of eight answered posts then one whose answer is held for 15 s
    /// (Slack received it; the dispatcher never hears back if it is killed meanwhile).
    static func holdingEveryNinth(_ holds: Int) -> [SinkResponse] {
        Array(
            (0..<holds).map { _ in
                Array(repeating: SinkResponse.ok, count: 8) + [.delayed(milliseconds: 15_000, then: .ok)]
            }.joined())
    }

    /// Starts a dispatcher and kills it with kill -9 `kills` times, each time while Slack holds the
    /// answer to a post on `path` (its 9th, 18th, 27th ... request: `holdingEveryNinth`), starting
    /// a new one after each kill. Returns every process started; the last one is running.
    func killDispatcherWhileHolding(path: String, kills: Int) async throws -> [StageProcess] {
        sink.script(path: path, Self.holdingEveryNinth(kills))
        var processes = [try StageProcess("dispatcher", env: dispatcherEnv())]
        for kill in 1...kills {
            let dispatcher = processes.last!
            let holding = await waitForHeldPosts(path: path, count: kill, watching: [dispatcher])
            #expect(
                holding,
                "no held post before kill \(kill) (\(sink.requestCount) requests):\n\(dispatcher.log.suffix(2000))")
            await dispatcher.killHard()
            processes.append(try StageProcess("dispatcher", env: dispatcherEnv()))
        }
        return processes
    }

    /// Waits until `count` posts on `path` have had their answer held (see `holdingEveryNinth`);
    /// false after 60 s or when one of `watching` exits.
    func waitForHeldPosts(path: String, count: Int, watching: [StageProcess]) async -> Bool {
        await waitUntil(timeout: .seconds(60), watching: watching) {
            sink.requests(path: path).filter { if case .delayed = $0.response { true } else { false } }.count >= count
        }
    }

    /// Waits until `done` holds, re-checking each time the sink receives a request and at least
    /// every 0.5 s (the sink's own condition, not a sleep); false after `timeout`, or early when
    /// one of `watching` has exited.
    func waitUntil(timeout: Duration, watching: [StageProcess] = [], _ done: () throws -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline, watching.allSatisfy({ $0.process.isRunning }) {
            if (try? done()) == true { return true }
            _ = await sink.waitForRequests(count: sink.requestCount + 1, timeoutSeconds: 0.5)
        }
        return (try? done()) == true
    }

    /// Records of `topic` (all partitions) that consumer group `group` has committed (an offset
    /// per partition, 0 where none; the mock starts every partition at 0).
    func committed(group: String, topic: String, partitions: Int) throws -> Int64 {
        let consumer = try KafkaConsumer(
            configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, ["group.id": group]),
            name: "committed", logger: Self.logger)
        defer { consumer.close() }
        let tps = (0..<partitions).map { TopicPartition(prefix + topic, Int32($0)) }
        let committed = try consumer.committed(tps)
        return tps.reduce(Int64(0)) { $0 + ((committed[$1] ?? nil) ?? 0) }
    }

    /// Records of `topic` that consumer group `group` has not committed yet.
    func lag(group: String, topic: String, partitions: Int) throws -> Int64 {
        Int64(try size(topic, partitions: partitions))
            - (try committed(group: group, topic: topic, partitions: partitions))
    }

    func shutdown() async {
        await sink.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// An alert for `destination` with a deterministic hex id.
    static func alert(_ n: Int, destination: String, account: String? = nil, tag: String) -> AlertRecord {
        let id = String(format: "%08x%08x", UInt32(truncatingIfNeeded: tag.hashValue & 0x7fff_ffff), UInt32(n))
        return AlertRecord(
            alertId: id, type: .customerAtRisk, severity: .high, priority: Priority(level: 3)!,
            destination: destination,
            accountId: account ?? "acct-\(n)",
            raisedAt: Timestamp(millisecondsSinceEpoch: 1_795_000_000_000 + Int64(n) * 60_000))
    }
}

struct FleetTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
