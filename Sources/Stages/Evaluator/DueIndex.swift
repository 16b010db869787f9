import HeapModule

/// Accounts by the time they next have something due (deferred alerts, digest items): a `Heap`
/// with lazy deletion, so finding due work costs O(log n) per due account, never a scan of every
/// account of the partition.
struct DueIndex {
    /// An account due at `due`; ordered by time, then by account id, so equal times come out in
    /// one order whatever the order of insertion.
    private struct Entry: Comparable {
        let due: Int64
        let account: String

        static func < (a: Entry, b: Entry) -> Bool { (a.due, a.account) < (b.due, b.account) }
    }

    private var heap = Heap<Entry>()

    var isEmpty: Bool { heap.isEmpty }
    var count: Int { heap.count }
    /// The earliest due time (an entry may be stale: the caller checks the account's state).
    var earliest: Int64? { heap.min?.due }

    mutating func insert(_ account: String, due: Int64) {
        heap.insert(Entry(due: due, account: account))
    }

    /// Removes and returns every entry due at or before `time`, earliest first.
    mutating func popDue(through time: Int64) -> [(due: Int64, account: String)] {
        var out: [(due: Int64, account: String)] = []
        while let first = heap.min, first.due <= time {
            heap.removeMin()
            out.append((first.due, first.account))
        }
        return out
    }
}
