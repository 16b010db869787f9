import Foundation
import Kafka
import Logging
import Synchronization
import TestSupport
import Testing

@testable import WorkerRuntime

/// `fleet_consumer_lag`: per input partition, from cached watermarks and where work stands, with
/// records fetched but not finished counted as lag.
@Suite(.serialized) struct ConsumerLagTests {
    /// Defers every record and holds it until `finishAll`.
    final class HoldingProcessor: RecordProcessor, @unchecked Sendable {
        private let lock = NSLock()
        private var held: [PendingRecord] = []

        func process(_ record: ConsumedRecord, context: ProcessingContext<NoState>) throws(Rejection) {
            let pending = context.deferCompletion()
            lock.withLock { held.append(pending) }
        }

        var count: Int { lock.withLock { held.count } }

        func finishAll() {
            for pending in lock.withLock({ held }) { pending.finish() }
        }
    }

    /// Re-checks `condition` (a gauge: no event announces it) until it holds or `timeout` passes.
    static func eventually(_ timeout: Duration, _ condition: () -> Bool) async throws -> Bool {
        try await BoundedWait.until(timeout, every: .milliseconds(20)) { condition() }
    }

    @Test func lagCountsUnfinishedRecordsAndFallsToZeroWhenDone() async throws {
        let cluster = try MockCluster()
        let id = UInt32.random(in: 0...UInt32.max)
        let input = "lag-in-\(id)"
        try cluster.createTopic(input, partitions: 2)
        try await InProcessWorkerTests.produce(
            cluster, topic: input, (0..<30).map { (Int32($0 < 20 ? 0 : 1), "v\($0)") })
        let processor = HoldingProcessor()
        let worker = Worker(
            settings: InProcessWorkerTests.settings(cluster, group: "g-lag-\(id)"),
            topology: WorkerTopology(inputs: [input], changelog: nil, deadLetter: input + "-dlt"),
            processor: processor, logger: InProcessWorkerTests.logger)
        let run = Task { try await worker.run() }
        let p0 = TopicPartition(input, 0)
        let p1 = TopicPartition(input, 1)
        let held = try await Self.eventually(.seconds(30)) {
            processor.count == 30 && worker.consumerLag[p0] == 20 && worker.consumerLag[p1] == 10
        }
        #expect(held, "lag while all 30 records are open: \(worker.consumerLag)")
        processor.finishAll()
        let drained = try await Self.eventually(.seconds(10)) {
            worker.consumerLag[p0] == 0 && worker.consumerLag[p1] == 0
        }
        #expect(drained, "lag once every record finished: \(worker.consumerLag)")
        worker.requestStop()
        try await run.value
    }
}
