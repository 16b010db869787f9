import Contracts
import Testing

@testable import WorkerRuntime

/// A standby copy (`StandbyReplicas`) reads the changelog with the restore's own rule, judged at read
/// time without the inputs' ends; taken (`taken`) with the restore's limits, it must hold what a
/// restore from the beginning holds, for every kind of record a changelog can carry. Pure: no broker.
@Suite struct ChangelogReplicaTests {
    /// A stage's state in the tests: a version byte 1 and a count; anything else is refused.
    struct Count: StateValue, Equatable {
        var n: UInt8
        init(_ n: UInt8) { self.n = n }
        init(stateBytes: [UInt8]) throws(Rejection) {
            guard stateBytes.count == 2, stateBytes[0] == 1 else {
                throw Rejection(code: "bad_state", reason: "not a count")
            }
            n = stateBytes[1]
        }
        var stateBytes: [UInt8] { [1, n] }
    }

    typealias Record = (key: String?, value: [UInt8]?)

    static func put(_ n: UInt8, epoch: Int64 = 10, applied: [UInt8: Int64] = [0: 5]) -> [UInt8] {
        ChangelogEnvelope(epoch: epoch, applied: applied, payload: [1, n]).bytes
    }

    /// Every kind of record: plain values, a later owner, a late write of an earlier one (fenced), a
    /// tombstone, a deletion, a value the stage cannot decode, bytes that are no envelope, an owner
    /// epoch no clock can have, the partition's metadata, a keyless record.
    static let records: [Record] = [
        ("a", put(1)), ("b", put(1)), ("c", put(1)), ("d", put(1)), ("e", put(1)),
        ("a", put(2, epoch: 20)),
        ("a", put(9, epoch: 15)),  // an earlier owner's late write: fenced
        ("b", nil),  // tombstone
        ("c", ChangelogEnvelope(epoch: 20, deleted: true, payload: []).bytes),
        ("d", ChangelogEnvelope(epoch: 20, payload: [7, 7, 7]).bytes),  // the stage cannot decode it
        ("e", Array(put(3, epoch: 20).prefix(8))),  // a frame cut short
        ("f", put(4, epoch: .max)),  // beyond any clock
        (PartitionMetadata.key, ChangelogEnvelope(epoch: 20, payload: PartitionMetadata(watermark: 1_000).bytes).bytes),
        (nil, [1, 2, 3]),
        ("g", put(5, epoch: 20, applied: [0: 40])),
    ]

    static let limit = ChangelogPlausibility(
        now: 1_800_000_000_000, futureTimeBound: FutureTimeBound(), inputEnds: [0: 100])

    /// The standby's limits: the wall clock when it reads, no input ends.
    static let readTime = ChangelogPlausibility(now: 1_800_000_000_000, futureTimeBound: FutureTimeBound())

    static func direct(_ records: [Record]) -> ChangelogReplica<Count> {
        var replica = ChangelogReplica<Count>()
        for (offset, r) in records.enumerated() {
            replica.apply(key: r.key, value: r.value, offset: Int64(offset), limit: limit)
        }
        return replica
    }

    static func standby(_ records: [Record]) -> ChangelogReplica<Count> {
        var replica = ChangelogReplica<Count>()
        for (offset, r) in records.enumerated() {
            replica.apply(key: r.key, value: r.value, offset: Int64(offset), limit: readTime)
        }
        return replica
    }

    static func summary(_ r: ChangelogReplica<Count>) -> [String] {
        r.restored.entries.entries.map { "\($0.key)=\($0.value.n)@\($0.applied.dictionary)" }.sorted()
            + r.restored.quarantined.map { "quarantined \($0.key)@\($0.offset): \($0.reason.code)" }.sorted()
            + r.restored.corrupt.map { "corrupt \($0.key)@\($0.offset)" }.sorted()
            + ["watermark \(r.restored.metadata.watermark ?? -1)", "epoch \(r.restored.maxEpoch)", "at \(r.position)"]
    }

    @Test func aStandbyCopyTakenHoldsWhatARestoreFromTheBeginningHolds() {
        let direct = Self.direct(Self.records)
        #expect(
            Self.summary(direct) == [
                "a=2@[0: 5]", "e=1@[0: 5]", "g=5@[0: 40]", "quarantined d@9: bad_state",
                "quarantined e@10: bad_envelope",
                "corrupt f@11", "watermark 1000", "epoch 20", "at 15",
            ],
            "\(Self.summary(direct))")
        #expect(direct.restored.entries["a"] == Count(2), "the fenced late write of an earlier owner is not kept")
        #expect(direct.restored.entries["b"] == nil && direct.restored.entries["c"] == nil)
        let taken = Self.standby(Self.records).taken(limit: Self.limit)
        #expect(Self.summary(taken) == Self.summary(direct))
        #expect(taken.restored.records == 0 && taken.restored.bytes == 0, "a take counts only what is read after it")
        // Split anywhere: the copy up to there, taken, then the rest read by the restore.
        for split in 0...Self.records.count {
            var replica = Self.standby(Array(Self.records.prefix(split))).taken(limit: Self.limit)
            for (offset, r) in Self.records.enumerated().dropFirst(split) {
                replica.apply(key: r.key, value: r.value, offset: Int64(offset), limit: Self.limit)
            }
            #expect(Self.summary(replica) == Self.summary(direct), "taken after \(split) records")
            #expect(replica.restored.records == Self.records.count - split)
        }
    }

    @Test func aRecordBelowThePositionIsNotAppliedAgain() {
        var replica = Self.standby(Self.records)
        let before = Self.summary(replica.taken(limit: Self.limit))
        // A consumer reset to the log's start hands the first records again: "a" must stay 2.
        for (offset, r) in Self.records.prefix(3).enumerated() {
            replica.apply(key: r.key, value: r.value, offset: Int64(offset), limit: Self.readTime)
        }
        #expect(Self.summary(replica.taken(limit: Self.limit)) == before)
    }

    @Test func aValueNoLongerBelievableAtTheTakeIsLeftOutAsCorrupt() {
        // The input was recreated since the copy was read: its end is now 10, below g's offset 40.
        let recreated = ChangelogPlausibility(
            now: 1_800_000_000_000, futureTimeBound: FutureTimeBound(), inputEnds: [0: 10])
        let taken = Self.standby(Self.records).taken(limit: recreated)
        #expect(taken.restored.entries["g"] == nil)
        #expect(taken.restored.entries["a"] == Count(2))
        #expect(taken.restored.corrupt.contains { $0.key == "g" })
        #expect(Self.direct(Self.records).restored.entries["g"] == Count(5), "believable at the first limits")
    }

    @Test func aStandbyCopyKeepsOnlyTheLatestBadFrameOfAKeyAndNoneOnceReplaced() {
        let cut = Array(Self.put(3, epoch: 20).prefix(8))
        let records: [Record] = [
            ("k", cut), ("k", cut), ("k", cut),  // undecodable frames: one kept
            ("j", Self.put(1, epoch: .max)), ("j", Self.put(1, epoch: .max)),  // unbelievable: one kept
            ("i", Self.put(1, epoch: .max)), ("i", Self.put(2, epoch: 20)),  // replaced: none kept
        ]
        var copy = ChangelogReplica<Count>()
        copy.pruneSuperseded = true
        for (offset, r) in records.enumerated() {
            copy.apply(key: r.key, value: r.value, offset: Int64(offset), limit: Self.readTime)
        }
        #expect(copy.restored.quarantined.map { "\($0.key)@\($0.offset)" } == ["k@2"])
        #expect(copy.restored.corrupt.map { "\($0.key)@\($0.offset)" } == ["j@4"])
        #expect(copy.restored.entries["i"] == Count(2))
        // A restore reads each frame once and reports every one.
        let restore = Self.direct(records)
        #expect(restore.restored.quarantined.count == 3 && restore.restored.corrupt.count == 3)
        #expect(!copy.taken(limit: Self.limit).pruneSuperseded, "the restore's tail is read as a restore reads")
    }

    /// Random changelogs (puts by three owners, late writes of earlier ones, tombstones, deletions,
    /// cut frames, undecodable values, unbelievable epochs), taken at a random point: the entries,
    /// the metadata and the position are a restore's from the beginning.
    @Test func randomChangelogsTakenAnywhereHoldWhatARestoreHolds() {
        var rng = SystemRandomNumberGenerator()
        let keys = ["a", "b", "c", "d"]
        for round in 0..<500 {
            var records: [Record] = []
            for _ in 0..<Int.random(in: 1...30, using: &rng) {
                let key = keys.randomElement(using: &rng)!
                let epoch = [10, 20, 30].randomElement(using: &rng)! as Int64
                let n = UInt8.random(in: 0...9, using: &rng)
                switch Int.random(in: 0..<10, using: &rng) {
                case 0: records.append((key, nil))
                case 1: records.append((key, ChangelogEnvelope(epoch: epoch, deleted: true, payload: []).bytes))
                case 2: records.append((key, Array(Self.put(n, epoch: epoch).prefix(8))))
                case 3: records.append((key, ChangelogEnvelope(epoch: epoch, payload: [9, n]).bytes))
                case 4: records.append((key, Self.put(n, epoch: .max)))
                case 5:
                    records.append(
                        (
                            PartitionMetadata.key,
                            ChangelogEnvelope(epoch: epoch, payload: PartitionMetadata(watermark: Int64(n)).bytes).bytes
                        ))
                default: records.append((key, Self.put(n, epoch: epoch, applied: [0: Int64(n)])))
                }
            }
            let direct = Self.direct(records)
            let split = Int.random(in: 0...records.count, using: &rng)
            var taken = Self.standby(Array(records.prefix(split))).taken(limit: Self.limit)
            for (offset, r) in records.enumerated().dropFirst(split) {
                taken.apply(key: r.key, value: r.value, offset: Int64(offset), limit: Self.limit)
            }
            let entries = { (r: ChangelogReplica<Count>) in
                r.restored.entries.entries.map { "\($0.key)=\($0.value.n)@\($0.applied.dictionary)" }.sorted()
            }
            #expect(entries(taken) == entries(direct), "round \(round), split \(split): \(records)")
            #expect(taken.restored.metadata == direct.restored.metadata && taken.position == direct.position)
            #expect(taken.restored.maxEpoch == direct.restored.maxEpoch)
            #expect(
                Set(taken.restored.quarantined.map(\.key)) == Set(direct.restored.quarantined.map(\.key)),
                "round \(round): the keys in quarantine")
        }
    }
}
