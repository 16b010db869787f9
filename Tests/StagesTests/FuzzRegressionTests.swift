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
    /// (`retryDelaysMs[-5]`), a trap in the dispatcher. The attempt read is now within
    /// `0...retry topics`: a larger one is exhausted (its next failure dead-letters it).
    @Test(arguments: [("retry-headers-1", 3), ("retry-headers-2", 0)])
    func anAttemptHeaderOutOfRangeIsReadWithinTheRetryTopics(name: String, expected: Int) throws {
        let value = try String(contentsOf: Self.fixtures.appendingPathComponent(name), encoding: .utf8)
        let headers = [KafkaHeader(name: RetryHeaders.attempt, text: value)]
        let attempt = RetryHeaders.attempt(in: headers)
        #expect(attempt == expected)
        #expect((0...DispatcherTopics().retries.count).contains(attempt))
    }

    @Test func anOrdinaryAttemptHeaderIsReadAsIs() {
        #expect(RetryHeaders.attempt(in: [KafkaHeader(name: RetryHeaders.attempt, text: "2")]) == 2)
        #expect(RetryHeaders.attempt(in: [KafkaHeader(name: RetryHeaders.attempt, text: "x")]) == 0)
        #expect(RetryHeaders.attempt(in: []) == 0)
    }
}
