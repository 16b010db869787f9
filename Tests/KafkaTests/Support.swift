import Dispatch
import Foundation
import Kafka
import Logging
import Synchronization

/// A value observed across threads: writers `update` it, a test awaits a condition on it with a
/// deadline (a condition variable, not a sleep), and fails with a message when the deadline passes.
final class Observed<Value: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func update(_ body: (inout Value) -> Void) {
        condition.lock()
        body(&value)
        condition.broadcast()
        condition.unlock()
    }

    var current: Value {
        condition.lock()
        defer { condition.unlock() }
        return value
    }

    /// Waits off the cooperative pool until `predicate` holds; returns the value then, or nil on timeout.
    func wait(upTo timeout: Duration, until predicate: @escaping @Sendable (Value) -> Bool) async -> Value? {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                let deadline = Date(
                    timeIntervalSinceNow: Double(timeout.components.seconds) + Double(timeout.components.attoseconds)
                        / 1e18)
                self.condition.lock()
                defer { self.condition.unlock() }
                while !predicate(self.value) {
                    if !self.condition.wait(until: deadline) {
                        continuation.resume(returning: predicate(self.value) ? self.value : nil)
                        return
                    }
                }
                continuation.resume(returning: self.value)
            }
        }
    }
}

enum TestKafka {
    static let logger: Logger = {
        var logger = Logger(label: "kafka-tests")
        logger.logLevel = .error  // broker outages in these tests are expected; assertions tell what matters
        return logger
    }()

    static func topic(_ name: String = #function) -> String {
        "t-\(name.filter { $0.isLetter || $0.isNumber })-\(UInt32.random(in: 0...UInt32.max))"
    }

    /// Consumer settings for the mock cluster: short sessions so rebalances take seconds, not 45 s.
    static func consumerConfig(_ cluster: MockCluster, group: String?) -> KafkaConfiguration {
        var config = KafkaConfiguration(
            bootstrapServers: cluster.bootstrapServers,
            [
                "session.timeout.ms": "6000",
                "heartbeat.interval.ms": "300",
                "auto.commit.interval.ms": "200",
                "topic.metadata.refresh.interval.ms": "1000",
            ])
        if let group { config["group.id"] = group }
        return config
    }

    static func producer(_ cluster: MockCluster) throws -> KafkaProducer {
        try KafkaProducer(
            configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, ["linger.ms": "1"]),
            logger: logger)
    }
}

/// A group member polling on its own thread, recording what it saw and storing offsets at once.
final class PollingMember: RebalanceHandler, @unchecked Sendable {
    /// What the members of one group saw, shared so a test waits on one condition.
    struct Seen: Sendable {
        var records: [String: Int] = [:]  // "partition:offset" -> times seen
        var assigned: [String: Set<TopicPartition>] = [:]
        var revocations: [String: Int] = [:]
    }

    let name: String
    let observed: Observed<Seen>
    private(set) var consumer: KafkaConsumer!
    private var thread: Thread?
    private let stop = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    init(config: KafkaConfiguration, topics: [String], name: String, observed: Observed<Seen>) throws {
        self.name = name
        self.observed = observed
        consumer = try KafkaConsumer(
            configuration: config, name: name, logger: TestKafka.logger, rebalanceHandler: self)
        try consumer.subscribe(topics)
        let thread = Thread { [self] in
            while !stop.load(ordering: .acquiring) {
                guard let record = try? consumer.poll(timeout: .milliseconds(100)) else { continue }
                observed.update { $0.records["\(record.partition):\(record.offset)", default: 0] += 1 }
                try? consumer.storeOffsets([record.topicPartition: record.offset + 1])
            }
            consumer.close()
            finished.signal()
        }
        self.thread = thread
        thread.start()
    }

    /// Leaves the group (committing stored offsets) and waits for the thread to end.
    func leave() async {
        stop.store(true, ordering: .releasing)
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                self.finished.wait()
                c.resume()
            }
        }
    }

    func partitionsAssigned(_ partitions: [TopicPartition], by consumer: KafkaConsumer) {
        observed.update { $0.assigned[name, default: []].formUnion(partitions) }
    }

    func partitionsRevoked(_ partitions: [TopicPartition], by consumer: KafkaConsumer) {
        try? consumer.commit()
        observed.update {
            $0.assigned[name, default: []].subtract(partitions)
            $0.revocations[name, default: 0] += 1
        }
    }

    func partitionsLost(_ partitions: [TopicPartition], by consumer: KafkaConsumer) {
        observed.update { $0.assigned[name, default: []].subtract(partitions) }
    }
}
