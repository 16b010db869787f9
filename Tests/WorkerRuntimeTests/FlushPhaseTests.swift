import Testing

@testable import WorkerRuntime

/// Each partition closes its flush at its own phase of the commit interval, so a worker's
/// partitions spread their flushes over it instead of encoding them all in one loop.
@Suite struct FlushPhaseTests {
    /// For any number of partitions numbered from 0 (1 to 128), the phases are distinct and no two
    /// neighbours (around the interval) are more than 2/n of it apart: each flush is about a
    /// partition's share of the work, evenly spaced, not twelve shares at once.
    @Test func anyNumberOfPartitionsSpreadsEvenlyOverTheInterval() {
        for n in 1...128 {
            let phases = (0..<Int32(n)).map(FlushPhase.fraction(of:)).sorted()
            #expect(phases.allSatisfy { $0 >= 0 && $0 < 1 })
            #expect(Set(phases).count == n, "\(n) partitions share a phase")
            var gaps = zip(phases.dropFirst(), phases).map { $0 - $1 }
            gaps.append(1 - phases.last! + phases.first!)
            let widest = gaps.max()!
            #expect(widest < 2 / Double(n), "\(n) partitions: a gap of \(widest) of the interval")
        }
    }

    /// The first flush of a partition assigned now comes within one interval, at its phase;
    /// partition 0's phase is the interval's end, not the moment it was assigned.
    @Test(arguments: [0, 1, 2, 5, 11, 1000, Int32.max])
    func theFirstFlushIsWithinOneInterval(partition: Int32) {
        let now = ContinuousClock.now
        let interval = Duration.seconds(1)
        let first = FlushPhase.first(of: partition, after: now, interval: interval)
        #expect(first > now && first <= now + interval)
        if partition == 0 { #expect(first == now + interval) }
        let fraction = FlushPhase.fraction(of: partition)
        if fraction > 0 { #expect(abs((first - now) / interval - fraction) < 1e-6) }
    }
}
