import AlertRules
import ArgumentParser
import Contracts
import Foundation
import HealthModel
import Kafka
import Logging
import SlackDelivery
import SlackSink
import Stages
import Synchronization
import WorkerRuntime

/// `fleet-admin demo`: the whole fleet on the embedded default, in one process: a local broker
/// (librdkafka's mock cluster on 127.0.0.1), sample events for a few dozen accounts with stories,
/// the scorer and evaluator workers on the runtime, and alerts posted to a local Slack-like sink
/// that prints each message.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the fleet on a local broker with sample data; alerts go to a local Slack sink that prints them.")

    @Option(help: "Sample accounts.") var accounts = 40
    @Option(help: "Sample days.") var days = 45
    @Option(help: "Sample seed.") var seed: UInt64 = 7
    @Option(help: "Rules file.") var rules = "config/rules.yaml"
    @Option(help: "Topic catalog.") var topics = "topics/topics.yaml"
    @Option(help: "Port of the local Slack sink (0 picks one).") var sinkPort = 0
    @Option(help: "Messages per second per destination (Slack allows 1; the demo goes faster).") var perSecond = 20.0
    @Option(help: "Log level of the workers.") var logLevel = "warning"

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .warning
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "demo")
        let rulesConfig = try RulesConfig.parse(yaml: String(contentsOfFile: rules, encoding: .utf8), file: rules)
        let catalog = try TopicCatalog.parse(String(contentsOfFile: topics, encoding: .utf8), file: topics)

        // 1. The local broker and the topics.
        let cluster = try MockCluster()
        for topic in catalog.topics { try cluster.createTopic(topic.name, partitions: topic.partitions, replicationFactor: 1) }
        say("local broker on \(cluster.bootstrapServers) with \(catalog.topics.count) topics")

        // 2. The local Slack sink, one path per destination.
        let sink = SlackSink(recordBodies: true, onRequest: { say("slack  " + SlackSinkCommand.line($0)) })
        let port = try await sink.start(port: sinkPort)
        let names = Set(rulesConfig.routes.map(\.destination)).sorted()
        let destinations = try names.map {
            try Destination(name: $0, url: "http://127.0.0.1:\(port)/services/local/\($0)", allowInsecureHTTP: true,
                            rateLimit: RateLimit(perSecond: perSecond, burst: 5))
        }
        let deliverer = try SlackDeliverer(destinations: destinations, logger: logger)
        say("local Slack sink on http://127.0.0.1:\(port) for \(names.joined(separator: ", "))")

        // 3. Sample data into account-events.
        let generator = SampleGenerator(options: .init(seed: seed, accounts: accounts, days: days))
        let lines = generator.allLines()
        let parser = EventParser()
        let producer = try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), logger: logger)
        for line in lines {
            let key = (try? parser.parse(line).accountId) ?? "unkeyed"
            try producer.send(OutgoingRecord(topic: "account-events", key: key, value: line)) { _ in }
        }
        try await producer.flush()
        await producer.shutdown()
        say("produced \(lines.count) events for \(accounts) accounts over \(days) days; stories: \(generator.stories.summary)")

        // 4. The stages, each its own consumer group, on the worker runtime.
        func settings(_ stage: String) -> WorkerSettings {
            WorkerSettings(stage: stage, brokers: cluster.bootstrapServers, groupId: "demo-\(stage)", commitInterval: .milliseconds(500),
                           consumerOverrides: ["session.timeout.ms": "6000", "heartbeat.interval.ms": "500"])
        }
        let scorer = Worker(settings: settings("ingest-scorer"),
                            topology: WorkerTopology(inputs: ["account-events"], changelog: "ingest-scorer-state", deadLetter: "account-events-dlt"),
                            processor: ScorerProcessor(scoresTopic: "health-scores"), logger: logger)
        let evaluator = Worker(settings: settings("evaluator"),
                               topology: WorkerTopology(inputs: ["health-scores"], changelog: "evaluator-state", deadLetter: "health-scores-dlt"),
                               processor: EvaluatorProcessor(engine: RulesEngine(config: rulesConfig), alertsTopic: "alerts"), logger: logger)
        let delivery = DemoDeliveryProcessor(deliverer: deliverer)
        let dispatcher = Worker(settings: settings("dispatcher"),
                                topology: WorkerTopology(inputs: ["alerts"], changelog: nil, deadLetter: "alerts-dlt"),
                                processor: delivery, logger: logger)

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await scorer.run() }
            group.addTask { try await evaluator.run() }
            group.addTask { try await dispatcher.run() }
            // Stop once every event is scored and nothing moved for a while.
            var last: [Int64] = []
            var still = 0
            while still < 6 {
                try await Task.sleep(for: .milliseconds(500))
                let now = [scorer.progress.consumed, scorer.progress.produced, evaluator.progress.consumed, evaluator.progress.produced, dispatcher.progress.consumed]
                still = (now == last && now[0] >= Int64(lines.count)) ? still + 1 : 0
                last = now
            }
            for worker in [scorer.requestStop, evaluator.requestStop, dispatcher.requestStop] { worker() }
            try await group.waitForAll()
        }
        await deliverer.shutdown()
        await sink.stop()

        let delivered = delivery.delivered.load(ordering: .relaxed)
        let refused = delivery.refused.load(ordering: .relaxed)
        say("done: \(scorer.progress.consumed) events -> \(scorer.progress.produced) score records -> "
            + "\(evaluator.progress.produced) alerts -> \(delivered) delivered to the local Slack sink, \(refused) refused")
    }
}

/// The demo's delivery step: posts each alert through the Slack engine and waits for the answer.
/// (The dispatcher stage proper, with retry topics and the delivery log, is a later issue.)
final class DemoDeliveryProcessor: RecordProcessor {

    let deliverer: SlackDeliverer
    let delivered = Atomic<Int>(0)
    let refused = Atomic<Int>(0)

    init(deliverer: SlackDeliverer) { self.deliverer = deliverer }

    func process(_ record: ConsumedRecord, context: ProcessingContext<NoState>) throws(Rejection) {
        let alert: AlertRecord
        do {
            alert = try RecordCoding.decode(AlertRecord.self, from: record.value ?? [])
        } catch {
            throw Rejection(code: "invalid_alert", reason: "not an alerts record")
        }
        for _ in 0..<10 {
            let answer = Answer()
            deliverer.submit(alert, to: alert.destination) { answer.set($0) }
            switch answer.wait() {
            case .delivered:
                delivered.add(1, ordering: .relaxed)
                return
            case let .permanent(reason):
                refused.add(1, ordering: .relaxed)
                throw Rejection(code: reason.code, reason: "\(reason)")
            case let .retryLater(_, notBefore):
                let wait = max(0, notBefore.millisecondsSinceEpoch - Int64(Date().timeIntervalSince1970 * 1000))
                Thread.sleep(forTimeInterval: Double(min(wait, 5000)) / 1000)
            }
        }
        refused.add(1, ordering: .relaxed)
        throw Rejection(code: "retries_exhausted", reason: "not delivered after 10 tries")
    }

    /// One outcome handed from the delivery engine's thread to the worker thread.
    final class Answer: @unchecked Sendable {
        private let semaphore = DispatchSemaphore(value: 0)
        private var outcome: DeliveryOutcome?
        func set(_ value: DeliveryOutcome) { outcome = value; semaphore.signal() }
        func wait() -> DeliveryOutcome { semaphore.wait(); return outcome! }
    }
}

private func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
