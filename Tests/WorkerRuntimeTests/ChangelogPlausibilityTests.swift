import Contracts
import Testing

@testable import WorkerRuntime

/// What a changelog frame's numbers may be (issue 22, row 9), as a table: a value that breaks one
/// is skipped at restore.
@Suite struct ChangelogPlausibilityTests {
    static let now: Int64 = 1_795_132_800_000
    static let limits = ChangelogPlausibility(now: now, futureTimeBound: FutureTimeBound(), inputEnds: [0: 100, 1: 5])

    /// (epoch, applied, believable)
    static let envelopes: [(Int64, [UInt8: Int64], Bool)] = [
        (0, [:], true),  // a value from before the frame
        (now, [0: 99, 1: 4], true),
        (now + 300 * 86_400_000, [:], true),  // an earlier owner's clock ahead
        (now + 400 * 86_400_000, [:], false),
        (.max, [:], false),
        (now, [0: 100], false),  // the input never reached it
        (now, [0: .max], false),
        (now, [1: -1], false),
        (now, [7: 1_000_000], true),  // an input whose end is unknown
    ]

    @Test(arguments: envelopes)
    func envelope(epoch: Int64, applied: [UInt8: Int64], believable: Bool) {
        let envelope = ChangelogEnvelope(epoch: epoch, applied: applied, payload: [1, 2, 3])
        #expect(
            (Self.limits.problem(with: envelope) == nil) == believable,
            "\(Self.limits.problem(with: envelope) ?? "no problem")")
    }

    static let watermarks: [(Int64?, Bool)] = [
        (nil, true),
        (now, true),
        (now + 600_000 + 86_400_000, true),
        (now + 600_001 + 86_400_000, false),
        (.max, false),
        (.min, true),  // far in the past: harmless, time only moves forward
    ]

    @Test(arguments: watermarks)
    func watermark(_ watermark: Int64?, believable: Bool) {
        #expect((Self.limits.problem(with: PartitionMetadata(watermark: watermark)) == nil) == believable)
    }

    @Test func limitsNeverTrap() {
        let extreme = ChangelogPlausibility(now: .max, futureTimeBound: FutureTimeBound(maxClockSkewMilliseconds: .max))
        #expect(extreme.epochLimit == .max && extreme.watermarkLimit == .max)
        #expect(extreme.problem(with: ChangelogEnvelope(epoch: .max, payload: [])) == nil)
    }
}
