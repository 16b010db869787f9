/// Accounts by the time they next have something due (deferred alerts, digest items): a min-heap
/// with lazy deletion, so finding due work costs O(log n) per due account, never a scan of every
/// account of the partition.
struct DueIndex {
    private var heap: [(due: Int64, account: String)] = []

    var isEmpty: Bool { heap.isEmpty }
    var count: Int { heap.count }
    /// The earliest due time (an entry may be stale: the caller checks the account's state).
    var earliest: Int64? { heap.first?.due }

    mutating func insert(_ account: String, due: Int64) {
        heap.append((due, account))
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard heap[i].due < heap[parent].due else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    /// Removes and returns every entry due at or before `time`, earliest first.
    mutating func popDue(through time: Int64) -> [(due: Int64, account: String)] {
        var out: [(due: Int64, account: String)] = []
        while let first = heap.first, first.due <= time {
            out.append(first)
            let last = heap.removeLast()
            guard !heap.isEmpty else { break }
            heap[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < heap.count, heap[l].due < heap[m].due { m = l }
                if r < heap.count, heap[r].due < heap[m].due { m = r }
                if m == i { break }
                heap.swapAt(i, m)
                i = m
            }
        }
        return out
    }
}
