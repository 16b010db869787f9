import Testing

@testable import Stages

/// The evaluator's index of accounts by due time (on swift-collections' `Heap`).
@Suite struct DueIndexTests {
    @Test(
        "due entries come out earliest first, equal times by account, later ones stay",
        arguments: [
            // (inserted (account, due), popped through, expected popped, left)
            ([("a", 30), ("b", 10), ("c", 20)], 20, [(10, "b"), (20, "c")], 1),
            ([("z", 5), ("a", 5), ("m", 5)], 5, [(5, "a"), (5, "m"), (5, "z")], 0),
            ([("a", 10)], 9, [], 1),
            ([], 100, [], 0),
            // A stale entry stays until the caller drops it: both times come out.
            ([("a", 10), ("a", 40), ("b", 15)], 50, [(10, "a"), (15, "b"), (40, "a")], 0),
        ] as [([(String, Int64)], Int64, [(Int64, String)], Int)])
    func popsDueInOrder(inserted: [(String, Int64)], through: Int64, expected: [(Int64, String)], left: Int) {
        var index = DueIndex()
        for (account, due) in inserted { index.insert(account, due: due) }
        #expect(index.earliest == inserted.map(\.1).min())
        let popped = index.popDue(through: through)
        #expect(popped.map(\.due) == expected.map(\.0))
        #expect(popped.map(\.account) == expected.map(\.1))
        #expect(index.count == left)
        #expect(index.isEmpty == (left == 0))
    }

    @Test func thousandsOfAccountsComeOutSorted() {
        var index = DueIndex()
        var expected: [(Int64, String)] = []
        for i in 0..<5_000 {
            let due = Int64((i * 7_919) % 1_000)
            index.insert("acct-\(i)", due: due)
            expected.append((due, "acct-\(i)"))
        }
        expected.sort { ($0.0, $0.1) < ($1.0, $1.1) }
        let firstHalf = index.popDue(through: 499)
        let rest = index.popDue(through: .max)
        let all = firstHalf + rest
        #expect(firstHalf.allSatisfy { $0.due <= 499 })
        #expect(all.map(\.due) == expected.map(\.0))
        #expect(all.map(\.account) == expected.map(\.1))
        #expect(index.isEmpty && index.earliest == nil)
    }
}
