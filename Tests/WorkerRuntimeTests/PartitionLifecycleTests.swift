import Kafka
import Testing

@testable import WorkerRuntime

/// The transitions of one owned partition, without a broker.
@Suite struct PartitionLifecycleTests {
    let a0 = TopicPartition("alerts", 0), r0 = TopicPartition("alerts-retry-1", 0)

    @Test func nothingIsProcessedBeforeTheRestoreAndDroppedRecordsAreReadAgain() {
        var life = PartitionLifecycle(generation: 1, partitions: [r0, a0])
        #expect(life.assigned() == [.startRestore])
        #expect(
            life.recordArrived(a0, offset: 7) == .pause([a0]),
            "the first record during the restore pauses its partition")
        #expect(life.recordArrived(a0, offset: 5) == .drop)
        #expect(life.restoreFailed() == [])
        #expect(life.phase == .restoring, "a failed restore never lets records through")
        #expect(life.recordArrived(a0, offset: 9) == .drop)
        #expect(life.restored() == [.notifyAssigned, .seek(a0, 5), .resume([a0, r0])])
        #expect(life.recordArrived(a0, offset: 5) == .process)
    }

    @Test func restoreBackoffGrowsAndIsBounded() {
        #expect(PartitionLifecycle.restoreBackoff(failures: 1) == .seconds(1))
        #expect(PartitionLifecycle.restoreBackoff(failures: 3) == .seconds(4))
        #expect(PartitionLifecycle.restoreBackoff(failures: 20) == .seconds(30))
    }

    // Defect 1: a retry pause belongs to one assignment; the next assignment resumes everything.
    @Test func aRetryPauseEndsWithItsAssignment() {
        var life = PartitionLifecycle(generation: 1, partitions: [a0, r0])
        _ = life.restored()
        #expect(life.retryLater(r0, offset: 42, due: 10_000) == [.pause([r0]), .seek(r0, 42)])
        #expect(life.recordArrived(r0, offset: 43) == .drop, "fetched before the pause: read again on resume")
        #expect(life.recordArrived(a0, offset: 3) == .process, "the other input keeps flowing")
        #expect(life.tick(nowMilliseconds: 9_999) == [])
        #expect(life.gone() == [.notifyRevoked])
        var next = PartitionLifecycle(generation: 2, partitions: [a0, r0])
        #expect(next.restored().contains(.resume([a0, r0])), "assigned back: both resume")
    }

    @Test func aDueRetryResumesOnlyItsPartition() {
        var life = PartitionLifecycle(generation: 1, partitions: [a0, r0])
        _ = life.restored()
        _ = life.retryLater(r0, offset: 42, due: 10_000)
        #expect(life.retryLater(r0, offset: 42, due: 12_000) == [.seek(r0, 42)], "already paused: no second pause")
        #expect(life.nextRetryDue == 12_000)
        #expect(life.tick(nowMilliseconds: 12_000) == [.resume([r0])])
        #expect(life.recordArrived(r0, offset: 42) == .process)
    }

    @Test func aPartitionGoneBeforeItsRestoreNeverTellsTheProcessor() {
        var life = PartitionLifecycle(generation: 3, partitions: [a0])
        #expect(life.gone() == [])
        #expect(life.restored() == [], "a late restore result of a gone generation does nothing")
        #expect(life.recordArrived(a0, offset: 1) == .drop)
    }
}

/// The changelog frame: fencing epochs, applied offsets, values from before the frame.
@Suite struct ChangelogEnvelopeTests {
    @Test func roundTrip() throws {
        let e = ChangelogEnvelope(epoch: 1_764_000_000_123, applied: [0: 41, 2: 7], payload: [1, 2, 3])
        #expect(try ChangelogEnvelope(decoding: e.bytes) == e)
        let deleted = ChangelogEnvelope(epoch: 5, deleted: true, payload: [])
        #expect(try ChangelogEnvelope(decoding: deleted.bytes) == deleted)
    }

    @Test func anUnframedValueIsReadAsVersionZero() throws {
        let legacy: [UInt8] = [1, 0, 0, 0, 0, 0, 0, 0, 9]
        let e = try ChangelogEnvelope(decoding: legacy)
        #expect(e.epoch == 0 && e.applied.isEmpty && e.payload == legacy)
    }

    @Test func aCutOrNewerFrameIsRefusedWithItsReason() {
        var newer = ChangelogEnvelope(epoch: 1, payload: [1]).bytes
        newer[2] = 9
        #expect(throws: Rejection.self) { try ChangelogEnvelope(decoding: newer) }
        #expect(throws: Rejection.self) { try ChangelogEnvelope(decoding: [0xF1, 0xEE, 1, 0, 0]) }
    }

    @Test func partitionMetadataRoundTrip() throws {
        #expect(
            try PartitionMetadata(decoding: PartitionMetadata(watermark: 1_764_000_000_000).bytes).watermark
                == 1_764_000_000_000)
        #expect(try PartitionMetadata(decoding: PartitionMetadata().bytes).watermark == nil)
    }
}

/// Dead letters always fit in a record (defect 4).
@Suite struct DeadLetterTests {
    @Test func anOversizedRecordKeepsAPrefixItsSizeAndHash() {
        let value = [UInt8](repeating: 0x41, count: 1_200_000)
        let record = ConsumedRecord(
            topic: "account-events", partition: 3, offset: 99, key: Array("acme".utf8), value: value,
            headers: [KafkaHeader(name: "trace", text: "t1")], timestamp: nil)
        let letter = DeadLetter.record(
            for: record, rejection: Rejection(code: "too_large", reason: "too big"), stage: "scorer", topic: "dlt")
        #expect(letter.value?.count == DeadLetter.truncatedPrefixBytes)
        #expect(letter.headers.last(named: DeadLetter.truncatedHeader)?.text == "true")
        #expect(letter.headers.last(named: DeadLetter.originalSizeHeader)?.text == "1200000")
        #expect(letter.headers.last(named: DeadLetter.originalHashHeader)?.text == SHA256Hex.digest(value))
        #expect(letter.headers.last(named: "trace")?.text == "t1", "small original headers are kept")
        #expect(letter.headers.last(named: DeadLetter.offsetHeader)?.text == "99")
        let size =
            (letter.value?.count ?? 0) + letter.headers.reduce(0) { $0 + $1.name.utf8.count + ($1.value?.count ?? 0) }
        #expect(size < DeadLetter.maxBytes)
    }

    @Test func aSmallRecordIsKeptWhole() {
        let record = ConsumedRecord(
            topic: "t", partition: 0, offset: 1, key: nil, value: Array("bad".utf8), headers: [], timestamp: nil)
        let letter = DeadLetter.record(
            for: record, rejection: Rejection(code: "x", reason: "y"), stage: "s", topic: "dlt")
        #expect(letter.value == Array("bad".utf8))
        #expect(letter.headers.last(named: DeadLetter.truncatedHeader) == nil)
    }

    @Test func sha256OfAKnownInput() {
        #expect(
            SHA256Hex.digest(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}

/// Defect 2: completions of an earlier assignment never unlock commits in a later one.
@Suite struct AssignmentGenerationTests {
    @Test func aLateCompletionOfAnEarlierAssignmentChangesNothingInTheNext() {
        let tp = TopicPartition("alerts", 0)
        let old = PartitionOwner<NoState>(
            generation: 1, partition: 0, partitions: [tp], maxClockSkewMilliseconds: 0, firstFlush: .now)
        old.tracker.open(tp, offset: 100)
        old.tracker.hold(tp, offset: 100)  // a changelog write or a deferred record of offset 100
        // The partition is lost and assigned again: a new owner re-opens offset 100.
        let new = PartitionOwner<NoState>(
            generation: 2, partition: 0, partitions: [tp], maxClockSkewMilliseconds: 0, firstFlush: .now)
        new.tracker.open(tp, offset: 100)
        new.tracker.hold(tp, offset: 100)
        new.tracker.release(tp, offset: 100)  // its processing is done; its own hold remains
        // The old assignment's late report arrives.
        old.tracker.release(tp, offset: 100)
        old.tracker.release(tp, offset: 100)
        #expect(new.tracker.takeCommittable().isEmpty, "committable past a record whose write is unacknowledged")
        new.tracker.release(tp, offset: 100)
        #expect(new.tracker.takeCommittable() == [tp: 101])
    }
}
