import Testing

@testable import WorkerRuntime

/// The flush gate: a flush of epoch E waits for outputs of epochs up to E only.
@Suite struct FlushGateTests {
    @Test func aFlushWaitsOnlyForOutputsEmittedBeforeIt() {
        let epochs = EpochCounter()
        let a = epochs.begin()
        let closed = epochs.close()
        let b = epochs.begin()
        #expect(!epochs.allDone(through: closed), "an output of the closed epoch is in flight")
        epochs.end(a)
        #expect(epochs.allDone(through: closed), "a later output does not hold the flush")
        epochs.end(b)
        let next = epochs.close()
        #expect(epochs.allDone(through: next))
    }

    @Test func manyFlushesWhileOutputsKeepFlowing() {
        let epochs = EpochCounter()
        var inFlight: [Int] = []
        for round in 0..<50 {
            inFlight += (0..<5).map { _ in epochs.begin() }
            let closed = epochs.close()
            inFlight += (0..<3).map { _ in epochs.begin() }
            // Acknowledge everything of the closed epoch and before, in reverse order.
            let done = inFlight.filter { $0 <= closed }
            for e in done.reversed() { epochs.end(e) }
            inFlight.removeAll { $0 <= closed }
            #expect(epochs.allDone(through: closed), "round \(round)")
        }
    }
}
