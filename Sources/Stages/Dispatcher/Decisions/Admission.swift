/// The first decision an alert meets when its record is read (`DispatcherProcessor.process`):
/// whether it goes on to its group wait and a post now, and if not, why. Pure: the processor
/// gathers the facts (retry headers, rate-limit holds, the delivery log, the schedule) and
/// carries out the verdict.
///
/// The checks, in order: a retry not due yet; a destination held by a rate limit with too many
/// alerts parked already; a post of the alert still in flight, or its delivery logged; the
/// destination's schedule (quiet hours, digests); else send.
enum Admission {
    /// What is known of one alert when its record is read.
    struct Facts: Sendable, Hashable {
        /// The wall clock, ms.
        var now: Int64
        /// From a retry record's `fleet.retry.due` (as `RetryHeaderCheck` accepts it): not tried
        /// again before then; nil when due now.
        var retryDue: Int64? = nil
        /// Until when (wall ms) the destination is held by a rate limit; nil when it is not.
        var holdUntil: Int64? = nil
        /// Alerts of the destination parked behind that hold.
        var parkedAlerts: Int = 0
        /// Past this many parked alerts the partition waits for the hold instead of parking more.
        var maxParkedPerDestination: Int
        /// Whose post of the alert is under way, if any (`DeliveryLog.inFlight`).
        var inFlight: DeliveryLog.InFlight? = nil
        /// The delivery log holds the alert as delivered.
        var delivered: Bool = false
        /// The destination's schedule holds the alert (quiet hours) or queues it for a digest;
        /// false when the schedule is not consulted (off, a retry, or an alert it released).
        var heldBySchedule: Bool = false
    }

    /// What the processor does with the alert.
    enum Verdict: Sendable, Hashable {
        /// A retry before its due time: the topic-partition waits until then.
        case notDueUntil(Int64)
        /// A rate-limited destination with `maxParkedPerDestination` alerts parked: the partition
        /// waits until the hold ends.
        case waitForHold(until: Int64)
        /// An earlier assignment's post of the alert is still ending: read it again at `retryAt`.
        case waitForEarlierAssignment(retryAt: Int64)
        /// Delivered already, or being delivered by this assignment: a duplicate, done at once.
        case alreadyDelivered
        /// Kept by the destination's schedule in the state, released by its timer.
        case heldBySchedule
        /// Into the group wait, then posted.
        case send
    }

    /// How long an alert whose earlier post is still ending waits before it is read again.
    static let earlierAssignmentWaitMs: Int64 = 200

    /// The verdict for `facts`, the checks in the order above.
    static func decide(_ facts: Facts) -> Verdict {
        if let due = facts.retryDue { return .notDueUntil(due) }
        if let until = facts.holdUntil, facts.parkedAlerts >= facts.maxParkedPerDestination {
            return .waitForHold(until: until)
        }
        switch facts.inFlight {
        case .earlierAssignment?:
            let (retryAt, overflow) = facts.now.addingReportingOverflow(earlierAssignmentWaitMs)
            return .waitForEarlierAssignment(retryAt: overflow ? .max : retryAt)
        case .thisAssignment?:
            return .alreadyDelivered
        case nil:
            if facts.delivered { return .alreadyDelivered }
        }
        return facts.heldBySchedule ? .heldBySchedule : .send
    }
}
