import Contracts
import Testing

/// The one future-time bound of the fleet (runtime and offline tools), as a table.
@Suite struct FutureTimeBoundTests {
    /// (skew, now, time, admitted)
    static let cases: [(Int64, Int64, Int64, Bool)] = [
        (600_000, 1_000_000, 1_600_000, true),
        (600_000, 1_000_000, 1_600_001, false),
        (0, 1_000_000, 1_000_000, true),
        (0, 1_000_000, 1_000_001, false),
        (-5, 1_000_000, 1_000_001, false),  // a negative skew counts as none
        (600_000, .max - 10, .max, true),  // the limit saturates instead of trapping
        (.max, 1, .max, true),
        (600_000, .min, .min + 600_000, true),
        (600_000, .min, .min + 600_001, false),
    ]

    @Test(arguments: cases)
    func admits(skew: Int64, now: Int64, time: Int64, admitted: Bool) {
        let bound = FutureTimeBound(maxClockSkewMilliseconds: skew)
        #expect(bound.admits(time, now: now) == admitted)
        #expect((bound.violation(time, now: now) == nil) == admitted)
    }

    @Test func theReasonIsTheRuntimes() {
        #expect(FutureTimeBound.code == "future_event_time")
        #expect(FutureTimeBound().reason() == "occurred_at in the future: more than 600 s ahead of the wall clock")
        #expect(
            FutureTimeBound(maxClockSkewMilliseconds: 5_000).reason(field: "valid_at")
                == "valid_at in the future: more than 5 s ahead of the wall clock")
    }
}
