import Foundation
import Kafka
import Testing

@testable import Stages

/// Inputs `scripts/fuzz` found, kept in `Tests/Fixtures/fuzz-regressions`.
@Suite struct RetryHeadersFuzzRegressionTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/fuzz-regressions")

    /// `fleet.retry.attempt: 9223372036854775807` (1) or `-5` (2) on a retry record: after a failed
    /// post the router computed `attempt + 1` (overflow) or indexed its delays with `attempt`
    /// (`retryDelaysMs[-5]`), a trap in the dispatcher. `RetryHeaderCheck` refuses both: the attempt
    /// is the one the retry topic implies.
    @Test(arguments: [("retry-headers-1", 1), ("retry-headers-1", 3), ("retry-headers-2", 2)])
    func anAttemptHeaderOutOfRangeIsTheTopicsAttempt(name: String, topicAttempt: Int) throws {
        let value = try String(contentsOf: Self.fixtures.appendingPathComponent(name), encoding: .utf8)
        let check = Self.read(attempt: value, topicAttempt: topicAttempt)
        #expect(check.attempt == topicAttempt)
        #expect(check.refusals == [RetryHeaderCheck.Refusal(header: "attempt", reason: "out_of_range")])
    }

    @Test func anOrdinaryAttemptHeaderIsReadAsIs() {
        #expect(Self.read(attempt: "2", topicAttempt: 2).attempt == 2)
        #expect(Self.read(attempt: "x", topicAttempt: 1).attempt == 1)
        #expect(Self.read(attempt: nil, topicAttempt: 3).attempt == 3)
    }

    static func read(attempt: String?, topicAttempt: Int) -> RetryHeaderCheck {
        RetryHeaderCheck.read(
            attempt: attempt, due: nil, inDoubtSince: nil, topicAttempt: topicAttempt, maxAttempts: 3,
            longestDelayMs: 600_000, horizonMs: 86_400_000, now: 1_800_000_000_000)
    }
}
