import Testing

@testable import Stages

/// The retry headers are untrusted input: `RetryHeaderCheck` accepts what the dispatcher itself
/// writes and maps everything else to a documented value, counted by reason (issue 22, rows 6 and 8).
@Suite struct RetryHeaderCheckTests {
    static let now: Int64 = 1_800_000_000_000
    static let longest: Int64 = 600_000
    static let horizon: Int64 = 30 * 86_400_000

    static func check(attempt: String? = nil, due: String? = nil, inDoubt: String? = nil, topicAttempt: Int)
        -> RetryHeaderCheck
    {
        RetryHeaderCheck.read(
            attempt: attempt, due: due, inDoubtSince: inDoubt, topicAttempt: topicAttempt, maxAttempts: 3,
            longestDelayMs: longest, horizonMs: horizon, now: now)
    }

    typealias Row = (
        attempt: String?, due: String?, topicAttempt: Int, expectAttempt: Int, expectDue: Int64?, refused: [String]
    )

    @Test(
        "attempt and due: accepted within the policy, else the topic's attempt and due now",
        arguments: [
            // What the dispatcher writes.
            ("1", String(now + 10_000), 1, 1, now + 10_000, []),
            ("3", String(now + longest), 3, 3, now + longest, []),
            ("2", String(now - 5), 2, 2, nil, []),  // already due
            ("0", nil, 1, 0, nil, []),
            (nil, nil, 2, 2, nil, []),  // no attempt: the topic's
            // Row 6: a due time beyond the longest delay (plus a minute of clock skew) is due now.
            ("1", "9223372036854775807", 1, 1, nil, ["due too_far"]),
            (
                "1", String(now + longest + RetryHeaderCheck.clockSkewAllowanceMs), 1, 1,
                now + longest + RetryHeaderCheck.clockSkewAllowanceMs, []
            ),
            ("1", String(now + longest + RetryHeaderCheck.clockSkewAllowanceMs + 1), 1, 1, nil, ["due too_far"]),
            ("1", "-9223372036854775808", 1, 1, nil, []),  // long past: due
            ("1", "soon", 1, 1, nil, ["due unreadable"]),
            ("1", "99999999999999999999", 1, 1, nil, ["due unreadable"]),
            // Row 8: an attempt out of 0...3 or unreadable is the attempt the topic implies.
            ("-5", nil, 2, 2, nil, ["attempt out_of_range"]),
            ("9223372036854775807", nil, 3, 3, nil, ["attempt out_of_range"]),
            ("4", nil, 1, 1, nil, ["attempt out_of_range"]),
            ("1.5", nil, 1, 1, nil, ["attempt unreadable"]),
            ("", "", 1, 1, nil, ["attempt unreadable", "due unreadable"]),
            // On `alerts` the dispatcher writes neither: both are ignored.
            ("-5", "9223372036854775807", 0, 0, nil, ["attempt not_on_retry_topic", "due not_on_retry_topic"]),
            ("2", String(now + 10_000), 0, 0, nil, ["attempt not_on_retry_topic", "due not_on_retry_topic"]),
        ] as [Row])
    func attemptAndDue(row: Row) {
        let c = Self.check(attempt: row.attempt, due: row.due, topicAttempt: row.topicAttempt)
        #expect(c.attempt == row.expectAttempt)
        #expect(c.due == row.expectDue)
        #expect(c.refusals.map { "\($0.header) \($0.reason)" } == row.refused)
        #expect(c.inDoubtSince == nil)
    }

    @Test(
        "the in-doubt mark of a dead letter: accepted within the delivery log's horizon, not ahead of now",
        arguments: [
            (String(now - 1_000), now - 1_000, []),
            (String(now - horizon), now - horizon, []),
            (String(now - horizon - 1), nil, ["in_doubt_since out_of_range"]),
            (String(now + RetryHeaderCheck.clockSkewAllowanceMs), now + RetryHeaderCheck.clockSkewAllowanceMs, []),
            ("9223372036854775807", nil, ["in_doubt_since out_of_range"]),
            ("-9223372036854775808", nil, ["in_doubt_since out_of_range"]),
            ("yesterday", nil, ["in_doubt_since unreadable"]),
        ] as [(String, Int64?, [String])])
    func inDoubt(text: String, expected: Int64?, refused: [String]) {
        for topicAttempt in [0, 2] {
            let c = Self.check(inDoubt: text, topicAttempt: topicAttempt)
            #expect(c.inDoubtSince == expected)
            #expect(c.refusals.map { "\($0.header) \($0.reason)" } == refused)
        }
    }

    /// A policy or clock at the edges of Int64 never traps the check.
    @Test func extremeNowAndDelaysDoNotTrap() {
        for now in [Int64.max, Int64.min, 0] {
            for delay in [Int64.max, Int64.min, 0] {
                let c = RetryHeaderCheck.read(
                    attempt: "1", due: "9223372036854775807", inDoubtSince: "-9223372036854775808", topicAttempt: 1,
                    maxAttempts: 3, longestDelayMs: delay, horizonMs: delay, now: now)
                #expect(c.attempt == 1)
            }
        }
    }
}
