import Kafka
import Logging
import Testing

@testable import WorkerRuntime

/// A follower input is read partition by partition with the primary: one with more partitions
/// would leave some unread, so the worker refuses to start and says which topic and why.
@Suite struct FollowerPartitionsTests {
    final class Ignoring: RecordProcessor {
        func process(_ record: ConsumedRecord, context: ProcessingContext<NoState>) throws(Rejection) {}
    }

    static let logger: Logger = {
        var l = Logger(label: "follower-test")
        l.logLevel = .error
        return l
    }()

    static func worker(_ cluster: MockCluster, primary: Int, follower: Int) throws -> Worker<Ignoring> {
        let id = UInt32.random(in: 0...UInt32.max)
        try cluster.createTopic("primary-\(id)", partitions: primary)
        try cluster.createTopic("follower-\(id)", partitions: follower)
        let settings = WorkerSettings(
            stage: "test", brokers: cluster.bootstrapServers, groupId: "g-\(id)", commitInterval: .milliseconds(200),
            consumerOverrides: ["session.timeout.ms": "6000", "heartbeat.interval.ms": "300"])
        let topology = WorkerTopology(
            inputs: ["primary-\(id)", "follower-\(id)"], changelog: nil, deadLetter: "dlt-\(id)")
        return Worker(settings: settings, topology: topology, processor: Ignoring(), logger: logger)
    }

    @Test func aFollowerWithMorePartitionsThanThePrimaryStopsTheWorkerAtStart() async throws {
        let cluster = try MockCluster()
        let worker = try Self.worker(cluster, primary: 2, follower: 3)
        let error = await #expect(throws: WorkerError.self) { try await worker.run() }
        guard case .configuration(let source, let key, let reason)? = error else {
            Issue.record("expected a configuration error, got \(String(describing: error))")
            return
        }
        #expect(source.hasPrefix("topic follower-") && key == "partitions", "\(source) \(key)")
        #expect(reason.contains("3 partitions, more than the 2 of primary-"), "\(reason)")
        #expect(reason.contains("partitions 2 to 2 would never be read"), "\(reason)")
    }

    @Test(
        arguments: [
            (["a": 2, "b": 2], nil),
            (["a": 2, "b": 1], nil),
            (["a": 2, "b": nil], nil),  // not created yet: its producer's business, checked again at restart
            (["a": nil, "b": 3], nil),  // the primary unknown: the subscription waits for it
            (["a": 2, "b": 3], "b"),
            (["a": 2, "b": 2, "c": 4], "c"),
        ] as [([String: Int?], String?)])
    func theFirstFollowerWithMorePartitionsIsNamed(counts: [String: Int?], refused: String?) {
        let inputs = counts.keys.sorted()
        let mismatch = Worker<Ignoring>.followerPartitionMismatch(inputs: inputs, partitionCounts: counts)
        switch mismatch {
        case .configuration(let source, _, _)?: #expect(source == "topic \(refused ?? "none")")
        default: #expect(refused == nil, "\(String(describing: mismatch))")
        }
    }
}
