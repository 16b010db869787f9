import Kafka
import Testing

@testable import WorkerRuntime

@Suite struct OffsetTrackerTests {
    let tp = TopicPartition("alerts", 0)

    @Test func commitsOnlyUpToTheLowestOpenRecord() {
        let tracker = OffsetTracker()
        for offset in Int64(10)..<15 { tracker.open(tp, offset: offset) }
        // Finish out of order: 12 and 14 first.
        tracker.release(tp, offset: 12)
        tracker.release(tp, offset: 14)
        #expect(tracker.takeCommittable().isEmpty, "10 is still open")
        tracker.release(tp, offset: 10)
        #expect(tracker.takeCommittable() == [tp: 11])
        tracker.release(tp, offset: 11)
        #expect(tracker.takeCommittable() == [tp: 13], "12 was done already; 13 is open")
        tracker.release(tp, offset: 13)
        #expect(tracker.takeCommittable() == [tp: 15])
        #expect(tracker.takeCommittable().isEmpty, "nothing new")
        #expect(tracker.openCount() == 0)
    }

    @Test func aRecordGivenUpIsNotWaitedForAndNeverCommitted() {
        let tracker = OffsetTracker()
        for offset in Int64(0)..<4 { tracker.open(tp, offset: offset) }
        tracker.release(tp, offset: 0)
        tracker.giveUp(tp, offset: 1)  // not sent: the next owner reads it again
        tracker.release(tp, offset: 2)
        #expect(tracker.openCount() == 1, "only 3 is still open; 1 is given up")
        tracker.release(tp, offset: 3)
        #expect(tracker.openCount() == 0, "a drain waits for nothing more")
        #expect(tracker.takeCommittable() == [tp: 1], "the commit stops below the record given up")
        tracker.release(tp, offset: 1)  // a late completion changes nothing
        #expect(tracker.committable([tp]) == [tp: 1])
    }

    @Test func aRecordWithSeveralOutputsWaitsForAll() {
        let tracker = OffsetTracker()
        tracker.open(tp, offset: 0)
        tracker.hold(tp, offset: 0, count: 3)  // three outputs
        tracker.release(tp, offset: 0)  // processing done
        tracker.release(tp, offset: 0)
        tracker.release(tp, offset: 0)
        #expect(tracker.takeCommittable().isEmpty)
        tracker.release(tp, offset: 0)
        #expect(tracker.takeCommittable() == [tp: 1])
    }

    @Test func partitionsAreIndependentAndDropForgets() {
        let tracker = OffsetTracker()
        let other = TopicPartition("alerts", 1)
        tracker.open(tp, offset: 5)
        tracker.open(other, offset: 7)
        tracker.release(other, offset: 7)
        #expect(tracker.takeCommittable() == [other: 8])
        tracker.drop([tp])
        #expect(tracker.openCount() == 0)
        tracker.release(tp, offset: 5)  // late completion of a revoked partition is ignored
        #expect(tracker.takeCommittable().isEmpty)
    }

    @Test func manyRecordsCompactWithoutLosingOrder() {
        let tracker = OffsetTracker()
        for offset in Int64(0)..<5000 { tracker.open(tp, offset: offset) }
        for offset in stride(from: Int64(4999), through: 1, by: -1) { tracker.release(tp, offset: offset) }
        #expect(tracker.takeCommittable().isEmpty)
        tracker.release(tp, offset: 0)
        #expect(tracker.takeCommittable() == [tp: 5000])
    }
}

@Suite struct EpochCounterTests {
    @Test func flushWaitsForEarlierOutputsOnly() {
        let epochs = EpochCounter()
        let a = epochs.begin()
        let closed = epochs.close()
        let b = epochs.begin()  // belongs to the next epoch
        #expect(!epochs.allDone(through: closed))
        epochs.end(a)
        #expect(epochs.allDone(through: closed), "a later output must not hold back an earlier flush")
        #expect(!epochs.allDone(through: closed + 1))
        epochs.end(b)
        #expect(epochs.allDone(through: closed + 1))
    }
}
