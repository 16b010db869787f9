import Testing

@testable import Stages

/// The dispatcher's memory of deliveries is bounded by the same horizon as `alerts-delivered`.
@Suite struct DeliveryLogMemoryTests {
    @Test func deliveriesPastTheHorizonAreForgottenOthersKept() {
        let day: Int64 = 86_400_000
        let now: Int64 = 1_800_000_000_000
        let log = DeliveryLog()
        #expect(log.horizonMilliseconds == 30 * day)
        log.load(partition: 0, entries: ["old|a": now - 31 * day, "edge|a": now - 30 * day, "recent|a": now - day])
        log.delivered(["fresh|b"], partition: 1, at: now)
        #expect(log.prune(now: now) == 1)
        #expect(!log.isDelivered("old|a", partition: 0))
        #expect(log.isDelivered("edge|a", partition: 0) && log.isDelivered("recent|a", partition: 0))
        #expect(log.isDelivered("fresh|b", partition: 1))
        #expect(log.count(partition: 0) == 2 && log.count(partition: 1) == 1)
        // A day later the edge entry is past the horizon too.
        #expect(log.prune(now: now + day) == 1)
        #expect(!log.isDelivered("edge|a", partition: 0))
    }
}
