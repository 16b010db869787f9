/// A min-heap of (deadline, destination index): the engine thread's timers. Stale entries are
/// skipped by the caller (lazy deletion), so a destination re-armed earlier costs one push.
struct TimerHeap {
    private var items: [(at: UInt64, slot: Int)] = []

    var isEmpty: Bool { items.isEmpty }
    var count: Int { items.count }
    var earliest: UInt64? { items.first?.at }

    mutating func removeAll() { items.removeAll() }

    mutating func push(at: UInt64, slot: Int) {
        items.append((at, slot))
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if items[parent].at <= items[i].at { break }
            items.swapAt(parent, i)
            i = parent
        }
    }

    /// Removes and returns the earliest entry if it is due at `now`.
    mutating func popDue(now: UInt64) -> (at: UInt64, slot: Int)? {
        guard let first = items.first, first.at <= now else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < items.count && items[l].at < items[m].at { m = l }
                if r < items.count && items[r].at < items[m].at { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
        }
        return first
    }
}
