import Foundation
import Kafka
import Logging
import TestSupport
import Testing

/// The `worker-probe` executable (built beside the test bundle) run as a separate process against
/// the test's mock cluster.
final class ProbeProcess: @unchecked Sendable {
    let process = Process()
    private let stderrPipe = Pipe()
    private let lines = LogLines()
    private let follower: PipeFollower

    static var binary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(
            "worker-probe")
    }

    init(cluster: MockCluster, topics: ProbeTopics, group: String, extra: [String: String] = [:]) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary.path) else {
            throw ProbeError("worker-probe not built at \(Self.binary.path): run `swift build` first")
        }
        process.executableURL = Self.binary
        var env = ProcessInfo.processInfo.environment
        env.merge([
            "KAFKA_BROKERS": cluster.bootstrapServers,
            "KAFKA_CONSUMER_SESSION_TIMEOUT_MS": "6000",
            "KAFKA_CONSUMER_HEARTBEAT_INTERVAL_MS": "300",
            // The mock broker holds produce acks while a fetch long-polls: keep polls short.
            "KAFKA_CONSUMER_FETCH_WAIT_MAX_MS": "10",
            "KAFKA_PRODUCER_LINGER_MS": "2",
            "GROUP_ID": group,
            "HTTP_PORT": "0",
            "HTTP_HOST": "127.0.0.1",
            "COMMIT_INTERVAL_MS": "200",
            "PROBE_INPUT": topics.input, "PROBE_OUTPUT": topics.output,
            "PROBE_CHANGELOG": topics.changelog, "PROBE_DLT": topics.deadLetter,
        ]) { _, new in new }
        env.merge(extra) { _, new in new }
        process.environment = env
        process.standardError = stderrPipe
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        follower = PipeFollower(stderrPipe.fileHandleForReading, into: lines)
    }

    /// kill -9: no drain, no commit, no goodbye to the group.
    func killHard() async throws {
        kill(process.processIdentifier, SIGKILL)
        _ = try await waitForExit(timeout: .seconds(10))
    }

    /// SIGSTOP / SIGCONT: the process freezes (its session lapses, its queued writes wait) and
    /// later resumes as if nothing happened.
    func freeze() { kill(process.processIdentifier, SIGSTOP) }
    func thaw() { kill(process.processIdentifier, SIGCONT) }

    /// Sends SIGTERM and waits (off the cooperative pool) for the exit code.
    func terminate(timeout: Duration = .seconds(40)) async throws -> Int32 {
        process.terminate()
        return try await waitForExit(timeout: timeout)
    }

    func waitForExit(timeout: Duration) async throws -> Int32 {
        guard await ChildExit.within(timeout, process) else {
            process.interrupt()
            throw ProbeError("probe did not exit within \(timeout); its log:\n\(log.suffix(3000))")
        }
        await lines.ended(within: .seconds(5))
        return process.terminationStatus
    }

    var log: String { lines.text }

    /// Awaits (the log's lines, not a sleep) the log satisfying `match`, at most `timeout`.
    func waitForLog(timeout: Duration, _ match: @escaping @Sendable (String) -> Bool) async -> Bool {
        await lines.until(timeout, match)
    }

    /// The HTTP port the probe bound (from its "http listening" log line), awaited up to `timeout`.
    func httpPort(timeout: Duration) async throws -> Int {
        let port = await lines.match(upTo: timeout) { text in
            text.range(of: #""port":"(\d+)""#, options: .regularExpression).map {
                Int(text[$0].dropFirst(8).dropLast(1))!
            }
        }
        guard let port else { throw ProbeError("probe logged no http port within \(timeout):\n\(log.suffix(2000))") }
        return port
    }

    deinit {
        if process.isRunning { process.interrupt() }
    }
}

struct ProbeTopics {
    let input: String, output: String, changelog: String, deadLetter: String

    let follower: String

    init(_ cluster: MockCluster, partitions: Int = 4) throws {
        let id = UInt32.random(in: 0...UInt32.max)
        input = "in-\(id)"
        output = "out-\(id)"
        changelog = "state-\(id)"
        deadLetter = "dlt-\(id)"
        follower = "in-\(id)-retry"
        for t in [input, output, changelog, follower] { try cluster.createTopic(t, partitions: partitions) }
        try cluster.createTopic(deadLetter, partitions: 1)
    }
}

struct ProbeError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

enum TopicReader {
    static let logger: Logger = {
        var l = Logger(label: "reader")
        l.logLevel = .error
        return l
    }()

    /// Reads every partition of `topic` from the beginning until `count` records arrived or
    /// `timeout` passed; returns what it read.
    static func read(_ cluster: MockCluster, topic: String, partitions: Int, count: Int, timeout: Duration) async throws
        -> [ConsumedRecord]
    {
        let consumer = try KafkaConsumer(
            configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, ["fetch.wait.max.ms": "10"]),
            name: "reader", logger: logger)
        defer { consumer.close() }
        try consumer.assign(
            Dictionary(
                uniqueKeysWithValues: (0..<partitions).map { (TopicPartition(topic, Int32($0)), KafkaOffset.beginning) }
            ))
        var records: [ConsumedRecord] = []
        let deadline = ContinuousClock.now + timeout
        while records.count < count, ContinuousClock.now < deadline {
            if let r = try await consumer.next(timeout: .milliseconds(200)) { records.append(r) }
        }
        return records
    }

    /// Reads every partition of `topic` from the beginning until `done` holds for what was read
    /// or `timeout` passed; returns what it read.
    static func readUntil(
        _ cluster: MockCluster, topic: String, partitions: Int, timeout: Duration, done: ([ConsumedRecord]) -> Bool
    ) async throws -> [ConsumedRecord] {
        let consumer = try KafkaConsumer(
            configuration: KafkaConfiguration(
                bootstrapServers: cluster.bootstrapServers,
                ["fetch.message.max.bytes": "2000000", "fetch.wait.max.ms": "10"]), name: "reader", logger: logger)
        defer { consumer.close() }
        try consumer.assign(
            Dictionary(
                uniqueKeysWithValues: (0..<partitions).map { (TopicPartition(topic, Int32($0)), KafkaOffset.beginning) }
            ))
        var records: [ConsumedRecord] = []
        let deadline = ContinuousClock.now + timeout
        while !done(records), ContinuousClock.now < deadline {
            if let r = try await consumer.next(timeout: .milliseconds(200)) { records.append(r) }
        }
        return records
    }

    /// Total records in a topic (sum of high watermarks; the mock starts every partition at 0).
    static func size(_ cluster: MockCluster, topic: String, partitions: Int) throws -> Int64 {
        let consumer = try KafkaConsumer(
            configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), name: "sizer", logger: logger
        )
        defer { consumer.close() }
        return try (0..<partitions).reduce(Int64(0)) {
            $0 + (try consumer.watermarks(TopicPartition(topic, Int32($1))).high)
        }
    }
}
