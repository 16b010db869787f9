import ArgumentParser
import Foundation
import Kafka
import WorkerRuntime

/// `fleet-admin broker`: hosts librdkafka's mock cluster on 127.0.0.1 as the local broker of the
/// embedded default, with every topic of the catalog created.
struct BrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker",
        abstract: "Run a local Kafka-protocol broker (librdkafka's mock cluster) until SIGTERM/SIGINT.",
        discussion: """
            Ports are chosen by the OS: the bootstrap string is printed and written to --bootstrap-file \
            for workers to take as KAFKA_BROKERS. All data is lost when the broker exits. It has no \
            Admin API, no compaction, and keeps at most 5 MiB per partition (see README).
            """)

    @Option(
        name: [.customLong("broker-count"), .customLong("brokers")],
        help: "Number of mock brokers (--brokers names bootstrap servers everywhere else).") var brokers = 1
    @Option(help: "Topic catalog to create.") var topics = "topics/topics.yaml"
    @Option(help: "Prefix before every topic name.") var prefix = ""
    @Option(help: "Where to write the bootstrap string.") var bootstrapFile = "run/bootstrap.txt"

    func run() async throws {
        let cluster = try MockCluster(brokers: brokers)
        let text = try String(contentsOfFile: topics, encoding: .utf8)
        let catalog = try TopicCatalog.parse(text, file: topics).prefixed(prefix)
        for topic in catalog.topics {
            try cluster.createTopic(
                topic.name, partitions: topic.partitions, replicationFactor: topic.replicationFactor)
        }
        let url = URL(fileURLWithPath: bootstrapFile)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try (cluster.bootstrapServers + "\n").write(to: url, atomically: true, encoding: .utf8)
        FileHandle.standardOutput.write(
            Data(
                "broker up: KAFKA_BROKERS=\(cluster.bootstrapServers) (\(catalog.topics.count) topics; written to \(bootstrapFile))\n"
                    .utf8))
        await waitForTermination()
        print("broker stopping")
        withExtendedLifetime(cluster) {}
    }
}

/// Suspends until SIGTERM or SIGINT.
func waitForTermination() async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        let once = SignalOnce(continuation)
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { once.fire() }
            source.resume()
            once.keep(source)
        }
    }
}

// @unchecked: both mutable fields are read and written under `lock` only.
private final class SignalOnce: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<Void, Never>?
    private var sources: [any DispatchSourceSignal] = []

    init(_ continuation: CheckedContinuation<Void, Never>) { self.continuation = continuation }

    func keep(_ source: any DispatchSourceSignal) { lock.withLock { sources.append(source) } }

    func fire() {
        let c: CheckedContinuation<Void, Never>? = lock.withLock {
            defer { continuation = nil }
            return continuation
        }
        c?.resume()
    }
}
