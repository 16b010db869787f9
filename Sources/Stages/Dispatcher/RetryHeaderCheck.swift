/// The retry headers of a record (`fleet.retry.attempt`, `fleet.retry.due`,
/// `fleet.delivery.in_doubt_since`) as the dispatcher trusts them: validated where they are read,
/// because any producer can write any header. Pure: the topic, the policy and the wall clock come
/// in as values.
///
/// The documented rules (README, "Retries and dead letters"):
///
/// - `fleet.retry.attempt`, on `alerts-retry-N`: a whole number in `0...retries` is taken;
///   otherwise the attempt the topic implies (`N`).
/// - `fleet.retry.due`, on `alerts-retry-N`: wall ms at most the longest retry delay (plus
///   `clockSkewAllowanceMs`) from now is taken; otherwise (unreadable, too far) it is due now.
/// - Both, on `alerts`: never taken (the dispatcher writes them only on its retry topics):
///   attempt 0, due now.
/// - `fleet.delivery.in_doubt_since`: wall ms within the delivery log's horizon and not ahead of
///   now (plus the allowance) is taken; otherwise the alert is not in doubt.
///
/// Each value not accepted is counted in `fleet_dispatch_retry_headers_refused_total{header, reason}`
/// (reasons in `Refusal`). "Due now" rather than a clamp: a clamped due time would be read again
/// from the same header when the partition resumes and pause it again, for ever.
struct RetryHeaderCheck: Sendable, Equatable {
    /// A header value not accepted, and why.
    struct Refusal: Sendable, Hashable {
        /// `attempt`, `due` or `in_doubt_since`.
        var header: String
        /// `unreadable` (not a whole number), `out_of_range`, `too_far` (a due time or in-doubt
        /// mark beyond the bound) or `not_on_retry_topic`.
        var reason: String
    }

    /// Failed attempts so far, in `0...maxAttempts`.
    var attempt: Int
    /// Wall ms before which the record is not tried again; nil when it is due now.
    var due: Int64?
    /// When an earlier post of the alert was about to start and left it in doubt (wall ms), as its
    /// dead letter recorded it; nil when it was not in doubt.
    var inDoubtSince: Int64?
    /// What was not accepted.
    var refusals: [Refusal] = []

    /// Clocks of two hosts differ a little: a due time or an in-doubt mark up to this far beyond
    /// its bound is still accepted.
    static let clockSkewAllowanceMs: Int64 = 60_000

    /// Reads the headers of a record from `topicAttempt`'s topic (0: `alerts`; N: `alerts-retry-N`).
    /// - Parameters:
    ///   - maxAttempts: the number of retry topics.
    ///   - longestDelayMs: the longest delay of the retry policy (`RETRY_DELAYS_MS`).
    ///   - horizonMs: how long the delivery log remembers (an older in-doubt mark is not read).
    ///   - now: the wall clock, ms.
    static func read(
        attempt attemptText: String?, due dueText: String?, inDoubtSince doubtText: String?, topicAttempt: Int,
        maxAttempts: Int, longestDelayMs: Int64, horizonMs: Int64, now: Int64
    ) -> RetryHeaderCheck {
        var check = RetryHeaderCheck(attempt: topicAttempt, due: nil, inDoubtSince: nil)
        let ahead = now.addingClamped(max(0, longestDelayMs)).addingClamped(clockSkewAllowanceMs)
        if topicAttempt == 0 {
            if attemptText != nil { check.refusals.append(Refusal(header: "attempt", reason: "not_on_retry_topic")) }
            if dueText != nil { check.refusals.append(Refusal(header: "due", reason: "not_on_retry_topic")) }
        } else {
            if let attemptText {
                if let value = Int(attemptText) {
                    if (0...max(0, maxAttempts)).contains(value) {
                        check.attempt = value
                    } else {
                        check.refusals.append(Refusal(header: "attempt", reason: "out_of_range"))
                    }
                } else {
                    check.refusals.append(Refusal(header: "attempt", reason: "unreadable"))
                }
            }
            if let dueText {
                if let value = Int64(dueText) {
                    if value > ahead {
                        check.refusals.append(Refusal(header: "due", reason: "too_far"))
                    } else if value > now {
                        check.due = value
                    }
                } else {
                    check.refusals.append(Refusal(header: "due", reason: "unreadable"))
                }
            }
        }
        if let doubtText {
            if let value = Int64(doubtText) {
                if value > now.addingClamped(clockSkewAllowanceMs) || value < now.addingClamped(-max(0, horizonMs)) {
                    check.refusals.append(Refusal(header: "in_doubt_since", reason: "out_of_range"))
                } else {
                    check.inDoubtSince = value
                }
            } else {
                check.refusals.append(Refusal(header: "in_doubt_since", reason: "unreadable"))
            }
        }
        return check
    }
}

extension Int64 {
    /// `self + other`, held at `Int64.min` / `Int64.max` instead of trapping.
    fileprivate func addingClamped(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        guard overflow else { return sum }
        return other > 0 ? .max : .min
    }
}
