import Contracts
import Foundation
import Kafka
import Logging
import TestSupport
import Testing

@testable import WorkerRuntime

/// Issue 23: one clock. The worker reads wall time from the clock it is given: what a processor
/// sees as now, and when a record that is not due yet is released, follow a `ManualClock` that the
/// test moves, on the real mock cluster. Nothing waits for real time to pass.
@Suite(.serialized) struct WorkerClockTests {
    static let start: Int64 = 1_795_168_800_000  // 2026-11-20T10:00:00Z
    static let hour: Int64 = 3_600_000

    /// Records `due:<ms>` wait until then; every record is emitted as `<text>@<now>`.
    final class StampingProcessor: RecordProcessor {
        let output: String
        init(output: String) { self.output = output }

        func process(_ record: ConsumedRecord, context: ProcessingContext<NoState>) throws(Rejection) {
            let text = String(decoding: record.value ?? [], as: UTF8.self)
            let now = context.wallClockMilliseconds
            if text.hasPrefix("due:"), let due = Int64(text.dropFirst(4)), now < due {
                context.retryLater(atMilliseconds: due)
                return
            }
            context.emit(OutgoingRecord(topic: output, key: nil, value: Array("\(text)@\(now)".utf8)))
        }
    }

    @Test func aRecordDueInAnHourIsReleasedWhenTheInjectedClockPassesItsDueTime() async throws {
        let cluster = try MockCluster()
        let id = UInt32.random(in: 0...UInt32.max)
        let input = "clock-in-\(id)"
        let output = "clock-out-\(id)"
        try cluster.createTopic(input, partitions: 2)
        try cluster.createTopic(output, partitions: 1)
        let time = ManualClock(milliseconds: Self.start)
        let worker = Worker(
            settings: InProcessWorkerTests.settings(cluster, group: "g-clock-\(id)"),
            topology: WorkerTopology(inputs: [input], changelog: nil, deadLetter: input + "-dlt"),
            processor: StampingProcessor(output: output), logger: InProcessWorkerTests.logger,
            tickInterval: .milliseconds(50), clock: time.clock)
        let run = Task { try await worker.run() }
        defer { worker.requestStop() }
        let due = Self.start + Self.hour
        try await InProcessWorkerTests.produce(cluster, topic: input, [(0, "due:\(due)"), (1, "now")])

        let first = try await TopicReader.read(cluster, topic: output, partitions: 1, count: 1, timeout: .seconds(40))
        #expect(first.map { String(decoding: $0.value ?? [], as: UTF8.self) } == ["now@\(Self.start)"])

        time.advance(by: .seconds(3_600))
        let both = try await TopicReader.read(cluster, topic: output, partitions: 1, count: 2, timeout: .seconds(40))
        let values = both.map { String(decoding: $0.value ?? [], as: UTF8.self) }
        // Released by the manual clock (an hour of wall time never passed), and not before: its
        // stamp is the clock's time after the advance.
        #expect(values == ["now@\(Self.start)", "due:\(due)@\(due)"], "outputs: \(values)")
        worker.requestStop()
        try await run.value
    }
}
