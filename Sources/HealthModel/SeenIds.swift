/// The event-id fingerprints remembered for dedup, in one compact array.
///
/// Logically a sequence of (day, 32-bit fingerprint), kept as runs of the same day: `storage[0]` is
/// the number of runs R, then R pairs (day, count), then the fingerprints in sequence order. Adjacent
/// runs never share a day, so equal sequences have equal storage. 4 bytes per id instead of 8.
struct SeenIds: Sendable, Equatable {
    private var storage: [UInt32] = []

    @inline(__always) private var runCount: Int { storage.isEmpty ? 0 : Int(storage[0]) }
    @inline(__always) private func runDay(_ r: Int) -> Int32 { Int32(bitPattern: storage[1 &+ 2 &* r]) }
    @inline(__always) private func runLength(_ r: Int) -> Int { Int(storage[2 &+ 2 &* r]) }
    @inline(__always) private var fingerprintStart: Int { 1 &+ 2 &* runCount }

    /// Number of ids.
    var count: Int { storage.isEmpty ? 0 : storage.count - fingerprintStart }

    var isEmpty: Bool { count == 0 }

    /// The runs of the same day in order: (day, fingerprints).
    var runs: [(day: Int32, fingerprints: ArraySlice<UInt32>)] {
        var out: [(day: Int32, fingerprints: ArraySlice<UInt32>)] = []
        var p = fingerprintStart
        for r in 0..<runCount {
            out.append((runDay(r), storage[p..<(p + runLength(r))]))
            p += runLength(r)
        }
        return out
    }

    /// The day of the first id, if any.
    var firstDay: Int32? { runCount == 0 ? nil : runDay(0) }

    /// Whether an id with this fingerprint is remembered (any day).
    func contains(_ fingerprint: UInt32) -> Bool {
        guard !storage.isEmpty else { return false }
        for k in fingerprintStart..<storage.count where storage[k] == fingerprint { return true }
        return false
    }

    /// Inserts an id just before the trailing ids of later days (in a day-sorted sequence: at the end
    /// of its day), as an insertion into a plain array of (day, fingerprint) scanning back would.
    mutating func insert(day: Int32, fingerprint: UInt32) {
        if storage.isEmpty { storage = [0] }
        let runs = runCount
        // Walk back over the runs of later days.
        var r = runs
        var end = storage.count
        while r > 0, runDay(r - 1) > day {
            end -= runLength(r - 1)
            r -= 1
        }
        if r > 0, runDay(r - 1) == day {
            storage[2 &* (r - 1) &+ 2] += 1
            storage.insert(fingerprint, at: end)
        } else {
            storage.insert(fingerprint, at: end)
            storage.insert(contentsOf: [UInt32(bitPattern: day), 1], at: 1 + 2 * r)
            storage[0] = UInt32(runs + 1)
        }
    }

    /// Removes the ids of days before `start`.
    mutating func removeDays(before start: Int32) {
        let all = runs
        guard all.contains(where: { $0.day < start }) else { return }
        var kept = SeenIds()
        for run in all where run.day >= start { kept.appendRun(day: run.day, run.fingerprints) }
        self = kept
    }

    /// Appends a run of ids of one day at the end (merged with the last run when of the same day).
    mutating func appendRun<C: Collection<UInt32>>(day: Int32, _ fingerprints: C) {
        guard !fingerprints.isEmpty else { return }
        if storage.isEmpty { storage = [0] }
        let runs = runCount
        if runs > 0, runDay(runs - 1) == day {
            storage[2 &* (runs - 1) &+ 2] += UInt32(fingerprints.count)
            storage.append(contentsOf: fingerprints)
        } else {
            storage.insert(contentsOf: [UInt32(bitPattern: day), UInt32(fingerprints.count)], at: 1 + 2 * runs)
            storage[0] = UInt32(runs + 1)
            storage.append(contentsOf: fingerprints)
        }
    }

    /// Reserves room for `ids` ids in `runs` runs.
    mutating func reserveCapacity(ids: Int, runs: Int) {
        storage.reserveCapacity(1 + 2 * runs + ids)
    }
}
