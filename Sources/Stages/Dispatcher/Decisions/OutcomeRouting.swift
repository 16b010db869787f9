import SlackDelivery

/// The decision after a destination answered (`DeliveryRouter.complete`): where one alert of the
/// message goes. Pure: the router gathers the facts and carries out the verdict (the delivery
/// log, the hold, the retry or dead-letter record).
enum OutcomeRouting {
    /// The retry policy: how many retry topics there are and the delay before each.
    struct Policy: Sendable, Hashable {
        /// `alerts-retry-1...N`.
        var retryTopics: Int
        /// `RETRY_DELAYS_MS`: the delay before attempt N + 1 is `retryDelaysMs[N - 1]`.
        var retryDelaysMs: [Int64]
    }

    /// What is known of one alert of a message once the destination answered.
    struct Facts: Sendable, Hashable {
        var outcome: DeliveryOutcome
        /// The number of the attempt answered (`WaitingAlert.thisAttempt`, at least 1).
        var attempt: Int
        var destination: String
        /// The alert's partition is being revoked (its assignment's cancellation).
        var cancelled: Bool = false
        /// The wall clock, ms.
        var now: Int64
    }

    /// Where the alert goes.
    enum Verdict: Sendable, Hashable {
        /// Log the delivery, then finish the record.
        case delivered(status: Int)
        /// Not sent (held locally or refused with 429): hold the destination and park the post
        /// until then (wall ms); no attempt is used up.
        case park(until: Int64)
        /// Not sent, and the partition is leaving or the process stopping: hand the record back
        /// unfinished for the next owner.
        case handBack
        /// To `alerts-retry-(topicIndex + 1)`, not tried again before `due` (wall ms).
        case retry(topicIndex: Int, due: Int64)
        /// To the dead-letter topic with this code and reason.
        case deadLetter(code: String, reason: String)
    }

    /// The shortest park: a hold that ended already still waits this long.
    static let minimumParkMs: Int64 = 50

    /// The verdict for one alert of the answered message.
    static func decide(_ facts: Facts, policy: Policy) -> Verdict {
        if facts.cancelled, case .retryLater(let reason, _) = facts.outcome, reason.wasNotSent {
            // The partition is going to another owner and this post was not sent (withdrawn, held
            // back, or answered 429 while leaving): the next owner reads its records again.
            return .handBack
        }
        switch facts.outcome {
        case .delivered(let status):
            return .delivered(status: status)
        case .retryLater(let reason, let notBefore):
            switch reason {
            case .rateLimited, .backlogged, .notYetDue:
                return .park(until: max(notBefore.millisecondsSinceEpoch, clampedSum(facts.now, minimumParkMs)))
            case .shuttingDown, .withdrawn:
                return .handBack
            case .serverError, .timeout, .connectionFailed, .tlsFailed, .slackAPIError, .smtpTransient:
                let attempt = facts.attempt
                guard attempt >= 1, attempt <= policy.retryTopics, attempt <= policy.retryDelaysMs.count else {
                    return .deadLetter(
                        code: "retries_exhausted",
                        reason: "\(facts.destination): not delivered after \(attempt) attempts; "
                            + "last: \(reason.description)")
                }
                return .retry(topicIndex: attempt - 1, due: clampedSum(facts.now, policy.retryDelaysMs[attempt - 1]))
            }
        case .permanent(let reason):
            return .deadLetter(code: reason.code, reason: "\(facts.destination): \(reason.description)")
        }
    }

    private static func clampedSum(_ a: Int64, _ b: Int64) -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? (b > 0 ? .max : .min) : sum
    }
}
