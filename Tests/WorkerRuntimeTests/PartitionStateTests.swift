import Testing

@testable import WorkerRuntime

/// The partition's store: dense entries with an index, offsets inline, deletions by moving the last
/// entry into the hole. Checked against a plain dictionary model over many random operations.
@Suite struct PartitionStateTests {
    struct Count: StateValue, Equatable {
        var n: Int
        init(_ n: Int) { self.n = n }
        init(stateBytes: [UInt8]) throws(Rejection) { n = Int(stateBytes.first ?? 0) }
        var stateBytes: [UInt8] { [UInt8(truncatingIfNeeded: n)] }
    }

    @Test func aWriteByTheRecordOfItsKeyRecordsTheOffsetAndADeletionKeepsItUntilTheFlush() {
        let state = PartitionState<Count>(partition: 3)
        state.current = (input: 0, offset: 41, key: "a")
        state["a"] = Count(1)
        state["b"] = Count(2)  // not the record's key: no offset
        state.current = (input: 1, offset: 7, key: "a")
        state["a"] = Count(3)
        #expect(state.alreadyApplied(key: "a", input: 0, offset: 41))
        #expect(!state.alreadyApplied(key: "a", input: 0, offset: 42))
        #expect(state.alreadyApplied(key: "a", input: 1, offset: 7))
        #expect(!state.alreadyApplied(key: "b", input: 0, offset: 0))
        state.current = (input: 0, offset: 50, key: "a")
        state["a"] = nil
        #expect(state["a"] == nil && state.count == 1 && state["b"] == Count(2))
        #expect(state.alreadyApplied(key: "a", input: 0, offset: 50), "the deletion reflects its record")
        let changes = state.takeChanges()
        #expect(changes.map(\.key) == ["a", "b"])
        #expect(changes[0].value == nil && changes[0].applied == [0: 50, 1: 7])
        #expect(changes[1].value == Count(2) && changes[1].applied == [:])
        #expect(state.takeChanges().isEmpty)
    }

    @Test func aRefreshChangesTheValueWithoutMarkingIt() {
        let state = PartitionState<Count>(partition: 0, values: ["a": Count(1)], applied: ["a": [0: 9, 1: 4, 2: 6]])
        state.refresh("a", Count(5))
        state.refresh("new", Count(6))
        #expect(!state.hasChanges)
        #expect(state["a"] == Count(5) && state["new"] == Count(6) && state.count == 2)
        #expect(state.alreadyApplied(key: "a", input: 2, offset: 6), "a third input's offset is kept too")
    }

    @Test func aChangeInPlaceIsMemoryOnlyUntilMarkedThenWrittenWithItsRecordsOffset() {
        let state = PartitionState<Count>(partition: 0, values: ["a": Count(1), "b": Count(2)])
        #expect(state.modify("absent") { $0.n += 1 } == nil, "no value: nothing made")
        #expect(state.count == 2)
        let result = state.modify("a") { value -> Int in
            value.n += 10
            return value.n
        }
        #expect(result == 11 && state["a"] == Count(11))
        #expect(!state.hasChanges, "in memory only until marked")
        state.current = (input: 0, offset: 99, key: "a")
        state.markWritten("a")
        state.modify("b") { $0.n = 5 }
        state.markWritten("b")  // not the record's key: no offset
        #expect(state.alreadyApplied(key: "a", input: 0, offset: 99))
        #expect(!state.alreadyApplied(key: "b", input: 0, offset: 0))
        let changes = state.takeChanges()
        #expect(changes.map(\.key) == ["a", "b"])
        #expect(changes[0].value == Count(11) && changes[0].applied == [0: 99])
        #expect(changes[1].value == Count(5) && changes[1].applied == [:])
    }

    /// A walk visits every value in key order, changes it in place and marks only the values its
    /// body says were written; after a key comes or goes (the places move), the next walk follows
    /// the new order.
    @Test func aWalkInKeyOrderChangesInPlaceMarksWhatItSaysAndFollowsKeysThatComeAndGo() {
        let state = PartitionState<Count>(partition: 0)
        for (key, n) in [("c", 3), ("a", 1), ("b", 2)] { state[key] = Count(n) }  // held c, a, b
        _ = state.takeChanges()
        var visited: [String] = []
        state.modifyEach { key, value in
            visited.append(key)
            value.n *= 10
            return key == "b"
        }
        #expect(visited == ["a", "b", "c"])
        #expect(state["a"] == Count(10) && state["b"] == Count(20) && state["c"] == Count(30))
        #expect(state.takeChanges().map(\.key) == ["b"], "only what the walk marked")
        visited = []
        state.modifyEach { key, _ in
            visited.append(key)
            return false
        }
        #expect(visited == ["a", "b", "c"], "the kept order, nothing changed")
        // "a" goes: "b" (the last entry) takes its place; "aa" comes at the end (held: c, b, aa; the
        // places sorted before would now visit b, aa, c).
        state["a"] = nil
        state["aa"] = Count(7)
        _ = state.takeChanges()
        visited = []
        state.modifyEach { key, value in
            visited.append(key)
            value.n += 1
            return false
        }
        #expect(visited == ["aa", "b", "c"])
        #expect(state["aa"] == Count(8) && state["b"] == Count(21) && state["c"] == Count(31))
        #expect(!state.hasChanges)
    }

    @Test func agreesWithADictionaryOverRandomWritesAndDeletions() {
        var rng = SplitMix(seed: 7)
        let state = PartitionState<Count>(partition: 0)
        var model: [String: Int] = [:]
        for step in 0..<20_000 {
            let key = "k\(rng.next() % 300)"
            if rng.next() % 3 == 0 {
                state[key] = nil
                model[key] = nil
            } else {
                state[key] = Count(step)
                model[key] = step
            }
            if step % 1000 == 999 { _ = state.takeChanges() }
        }
        #expect(state.count == model.count)
        #expect(Set(state.keys) == Set(model.keys))
        for (key, n) in model { #expect(state[key] == Count(n), "\(key)") }
        #expect(Dictionary(uniqueKeysWithValues: state.values.map { ($0.key, $0.value.n) }) == model)
    }

    struct SplitMix {
        var x: UInt64
        init(seed: UInt64) { x = seed }
        mutating func next() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }
}
