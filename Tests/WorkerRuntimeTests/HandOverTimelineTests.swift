import Testing

@testable import WorkerRuntime

@Suite struct HandOverTimelineTests {
    @Test func theWaitRunsFromTheRevokeToTheNewOwnersFirstRecord() {
        var timeline = HandOverTimeline()
        // Member 0 owned 0..2; it gives up 1 and 2 to member 1.
        timeline.processed(member: 0, partition: 0, at: 100)
        timeline.revoked(member: 0, partition: 1, at: 1_000)
        timeline.revoked(member: 0, partition: 2, at: 1_010)
        timeline.ready(member: 1, partition: 1, at: 4_000)
        timeline.ready(member: 1, partition: 2, at: 4_500)
        timeline.processed(member: 1, partition: 1, at: 4_020)
        timeline.processed(member: 1, partition: 1, at: 4_900)  // not the first: ignored
        let moved = timeline.handOvers(from: 0, to: 1)
        #expect(moved.map(\.partition) == [1, 2], "partition 0 never moved")
        #expect(moved[0].untilReady == 3_000)
        #expect(moved[0].wait == 3_020, "revoke at 1,000, first record at 4,020")
        #expect(moved[1].untilReady == 3_490)
        #expect(moved[1].wait == nil, "ready, but no record processed yet")
        #expect(!timeline.hasProcessed(member: 1, partition: 2))
        #expect(timeline.hasProcessed(member: 1, partition: 1))
    }

    @Test func theEarliestRevokeCountsAndANewAssignmentForgetsItsEarlierFirstRecord() {
        var timeline = HandOverTimeline()
        timeline.revoked(member: 0, partition: 3, at: 2_000)
        timeline.revoked(member: 0, partition: 3, at: 1_500)  // the drain began earlier: it counts
        timeline.revoked(member: 0, partition: 3, at: 2_500)
        // Member 1 had partition 3 once before the revoke: that does not make it ready for this move.
        timeline.ready(member: 1, partition: 3, at: 500)
        timeline.processed(member: 1, partition: 3, at: 600)
        #expect(timeline.handOvers(from: 0, to: 1) == [.init(partition: 3, from: 0, to: 1, revokedAt: 1_500)])
        timeline.ready(member: 1, partition: 3, at: 3_000)
        #expect(!timeline.hasProcessed(member: 1, partition: 3), "the earlier assignment's record does not count")
        timeline.processed(member: 1, partition: 3, at: 3_100)
        #expect(timeline.handOvers(from: 0, to: 1).first?.wait == 1_600)
    }

    @Test func percentilesAreNearestRank() throws {
        #expect(Percentiles([]) == nil)
        let one = try #require(Percentiles([7]))
        #expect(one.p50 == 7 && one.p99 == 7 && one.max == 7 && one.count == 1)
        let hundred = try #require(Percentiles((1...100).map(Int64.init).reversed()))
        #expect(hundred.p50 == 50)
        #expect(hundred.p99 == 99)
        #expect(hundred.max == 100)
        let two = try #require(Percentiles([10, 30]))
        #expect(two.p50 == 10, "the nearest rank of 50% of 2 values is the first")
    }

    @Test func aRestoreReportsItsRates() {
        let report = RestoreReport(
            partitions: [1, 2], records: 120, keys: 100, bytes: 5_000, duration: .milliseconds(500))
        #expect(report.seconds == 0.5)
        #expect(report.keysPerSecond == 200)
        #expect(report.bytesPerSecond == 10_000)
        #expect(RestoreReport(partitions: [], records: 0, keys: 0, bytes: 0, duration: .zero).keysPerSecond == 0)
    }
}
