import Contracts
import Foundation
import Kafka
import Logging
import SlackDelivery
import Stages
import Synchronization
import Testing

/// The reader of `alert-feedback` behind every dispatcher's replay guard, on the in-process mock
/// broker: it reads what the topic holds, the catch-up barrier covers what was written before the
/// call, a broker outage makes the barrier fail in bounded time (and the reader recovers), and
/// `stop` answers waiting clicks.
@Suite(.serialized) struct FeedbackLedgerTests {
    static let logger: Logger = {
        var l = Logger(label: "ledger-test")
        l.logLevel = .critical
        return l
    }()
    static let topic = "alert-feedback"

    final class Seen: Sendable {
        let records = Mutex<[FeedbackRecord]>([])
        var ids: Set<String> { Set(records.withLock { $0.compactMap(\.linkId) }) }
    }

    static func record(_ n: Int, linkId: String? = nil) -> FeedbackRecord {
        FeedbackRecord(
            alertId: "alert-\(n)", rule: "r", destination: "d", verdict: .useful,
            recordedAt: Timestamp(millisecondsSinceEpoch: 1_795_000_000_000 + Int64(n)),
            linkId: linkId ?? "link-\(n)", linkExpiresAt: Timestamp(millisecondsSinceEpoch: 4_000_000_000_000))
    }

    static func caughtUp(_ ledger: FeedbackLedger) async -> (Bool, Duration) {
        let start = ContinuousClock.now
        let answer = await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
            ledger.whenCaughtUp { c.resume(returning: $0) }
        }
        return (answer, ContinuousClock.now - start)
    }

    @Test func readsTheTopicCatchesUpPerCallAndSurvivesAnOutage() async throws {
        let cluster = try MockCluster()
        try cluster.createTopic(Self.topic, partitions: 3)
        let producer = try KafkaProducer(
            configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, ["linger.ms": "2"]),
            logger: Self.logger)
        var old = Self.record(0)
        old.linkId = nil  // a record from before links had an id: read, guards nothing
        for (n, value) in [
            (0, try RecordCoding.encode(old)), (1, try RecordCoding.encode(Self.record(1))),
            (2, Array("not json".utf8)),
            (3, try RecordCoding.encode(Self.record(3))),
        ] {
            _ = try await producer.send(OutgoingRecord(topic: Self.topic, key: "alert-\(n)", value: value))
        }
        let seen = Seen()
        let ledger = FeedbackLedger(
            topic: Self.topic,
            configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, ["fetch.wait.max.ms": "10"]),
            logger: Self.logger, catchUpTimeout: .seconds(2))
        ledger.start { record in seen.records.withLock { $0.append(record) } }

        // The first barrier may meet the reader still connecting: a person would try again.
        var (ready, _) = await Self.caughtUp(ledger)
        for _ in 0..<5 where !ready { (ready, _) = await Self.caughtUp(ledger) }
        #expect(ready)
        #expect(seen.records.withLock { $0.count } == 3)
        #expect(seen.ids == ["link-1", "link-3"])
        #expect(ledger.recordsRead == 4)

        // Written just before the call: covered by the barrier.
        _ = try await producer.send(
            OutgoingRecord(topic: Self.topic, key: "alert-4", value: try RecordCoding.encode(Self.record(4))))
        let (again, _) = await Self.caughtUp(ledger)
        #expect(again && seen.ids.contains("link-4"))

        // The broker failing every request (each connection dropped as its request arrives): the
        // barrier fails within its bound, not forever.
        cluster.failEveryRequest(true)
        let (down, took) = await Self.caughtUp(ledger)
        #expect(!down)
        // Bounded by its 2 s catch-up timeout plus the machine's delay (4.2 s seen in a full suite on
        // 2 cores), never waiting for the broker to come back.
        #expect(took < .seconds(15), "took \(took)")
        cluster.failEveryRequest(false)
        _ = try await producer.send(
            OutgoingRecord(topic: Self.topic, key: "alert-5", value: try RecordCoding.encode(Self.record(5))))
        var (back, _) = await Self.caughtUp(ledger)
        for _ in 0..<10 where !back { (back, _) = await Self.caughtUp(ledger) }
        #expect(back && seen.ids.contains("link-5"))

        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread {
                ledger.stop()
                c.resume()
            }
        }
        let (afterStop, quick) = await Self.caughtUp(ledger)
        #expect(!afterStop && quick < .seconds(1))
        await producer.shutdown()
    }
}
