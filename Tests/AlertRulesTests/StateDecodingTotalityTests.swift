import AlertRules
import Contracts
import Testing

/// Changelog bytes are input (issue 22, row 9): the evaluator's and the dispatcher's state decoders
/// refuse numbers out of range instead of trapping on them.
@Suite struct StateDecodingTotalityTests {
    static func varint(_ value: UInt64) -> [UInt8] {
        var out: [UInt8] = []
        Varint.append(value, to: &out)
        return out
    }

    static func signed(_ value: Int64) -> [UInt8] {
        var out: [UInt8] = []
        Varint.append(signed: value, to: &out)
        return out
    }

    /// A varint past 64 bits (issue 23): refused with a reason, where it used to lose the high bits.
    @Test func aVarintLongerThan64BitsIsRefused() {
        let overlong = [UInt8](repeating: 0xFF, count: 9) + [0x02]
        #expect(throws: AlertRulesError.corruptState(reason: "varint longer than 64 bits at byte 1")) {
            try AccountAlertState(decoding: [2] + overlong)
        }
        #expect(throws: (any Error).self) { try DestinationScheduleState(decoding: [2] + overlong) }
    }

    @Test func aLastScoreBeyondIntIsRefused() {
        #expect(throws: (any Error).self) { try AccountAlertState(decoding: [2] + Self.varint(.max)) }
    }

    @Test func peakTimesThatOverflowAreRefused() {
        let bytes: [UInt8] = [2, 0, 2] + Self.signed(.max) + [0] + Self.signed(.max) + [0] + [0, 0, 0, 0, 0, 0]
        #expect(throws: (any Error).self) { try AccountAlertState(decoding: bytes) }
    }

    @Test func episodeTimesThatOverflowAreRefused() {
        let episode: [UInt8] =
            [1, 2, 3, 4] + Self.signed(.max - 1) + [1] + Self.signed(.max) + [UInt8](repeating: 0, count: 8) + [1]
        #expect(throws: (any Error).self) {
            try AccountAlertState(decoding: [2, 0, 0, 1] + episode + [0, 0, 0, 0, 0])
        }
    }

    @Test func aDigestDueOutOfRangeIsRefused() {
        #expect(throws: (any Error).self) {
            try DestinationScheduleState(decoding: [2, 1] + Self.signed(.min) + [0, 0])
        }
    }

    @Test func anEmptyStateStillRoundTrips() throws {
        let state = AccountAlertState()
        #expect(try AccountAlertState(decoding: try state.encoded()) == state)
    }
}
