import Contracts
import SlackDelivery
import Testing

@testable import Stages

/// The dispatcher's decisions in the order a record meets them (`Admission`, then after Slack
/// answers `OutcomeRouting`; `InDoubtDecision` has its own suite), each as a table of facts and
/// the verdict they must give.
@Suite struct AdmissionTests {
    static let now: Int64 = 1_800_000_000_000

    static func facts(
        due: Int64? = nil, hold: Int64? = nil, parked: Int = 0, inFlight: DeliveryLog.InFlight? = nil,
        delivered: Bool = false, schedule: Bool = false
    ) -> Admission.Facts {
        Admission.Facts(
            now: now, retryDue: due, holdUntil: hold, parkedAlerts: parked, maxParkedPerDestination: 3,
            inFlight: inFlight, delivered: delivered, heldBySchedule: schedule)
    }

    static let table: [(String, Admission.Facts, Admission.Verdict)] = [
        ("nothing against it: send", facts(), .send),
        ("a retry not due yet waits for its due time", facts(due: now + 10_000), .notDueUntil(now + 10_000)),
        (
            "not due wins over everything after it",
            facts(due: now + 5, hold: now + 9, parked: 3, inFlight: .thisAssignment, delivered: true, schedule: true),
            .notDueUntil(now + 5)
        ),
        ("held with room to park: sent on (parked at submit)", facts(hold: now + 9_000, parked: 2), .send),
        (
            "held with maxParked parked: the partition waits for the hold",
            facts(hold: now + 9_000, parked: 3), .waitForHold(until: now + 9_000)
        ),
        (
            "held and full wins over delivered", facts(hold: now + 1, parked: 4, delivered: true),
            .waitForHold(until: now + 1)
        ),
        ("parked count without a hold does not wait", facts(parked: 10), .send),
        (
            "an earlier assignment's post still ending: read again in 200 ms",
            facts(inFlight: .earlierAssignment), .waitForEarlierAssignment(retryAt: now + 200)
        ),
        (
            "earlier assignment wins over the log's delivered", facts(inFlight: .earlierAssignment, delivered: true),
            .waitForEarlierAssignment(retryAt: now + 200)
        ),
        ("in flight in this assignment: a duplicate", facts(inFlight: .thisAssignment), .alreadyDelivered),
        ("delivered per the log: a duplicate", facts(delivered: true), .alreadyDelivered),
        ("delivered wins over the schedule", facts(delivered: true, schedule: true), .alreadyDelivered),
        ("held by the schedule (quiet hours, digest)", facts(schedule: true), .heldBySchedule),
    ]

    @Test(arguments: table)
    func verdict(_ row: (String, Admission.Facts, Admission.Verdict)) {
        #expect(Admission.decide(row.1) == row.2, "\(row.0)")
    }

    @Test func earlierAssignmentWaitDoesNotTrapAtTheEndOfTime() {
        var f = Self.facts(inFlight: .earlierAssignment)
        f.now = .max - 10
        #expect(Admission.decide(f) == .waitForEarlierAssignment(retryAt: .max))
    }
}

@Suite struct OutcomeRoutingTests {
    static let now: Int64 = 1_800_000_000_000
    static let policy = OutcomeRouting.Policy(retryTopics: 3, retryDelaysMs: [10_000, 60_000, 600_000])

    static func facts(_ outcome: DeliveryOutcome, attempt: Int = 1, cancelled: Bool = false) -> OutcomeRouting.Facts {
        OutcomeRouting.Facts(outcome: outcome, attempt: attempt, destination: "cs", cancelled: cancelled, now: now)
    }

    static func later(_ reason: RetryReason, _ notBefore: Int64 = 0) -> DeliveryOutcome {
        .retryLater(reason, notBefore: Timestamp(millisecondsSinceEpoch: notBefore))
    }

    static let table: [(String, OutcomeRouting.Facts, OutcomeRouting.Verdict)] = [
        ("200: delivered", facts(.delivered(status: 200)), .delivered(status: 200)),
        (
            "200 while leaving: still delivered (it was sent)",
            facts(.delivered(status: 200), cancelled: true), .delivered(status: 200)
        ),
        (
            "429: park until Retry-After", facts(later(.rateLimited(retryAfterSeconds: 30), now + 30_000)),
            .park(until: now + 30_000)
        ),
        (
            "429 whose time passed: parked at least 50 ms", facts(later(.rateLimited(retryAfterSeconds: 0), now - 5)),
            .park(until: now + 50)
        ),
        (
            "backlogged: park, no attempt used", facts(later(.backlogged, now + 1_000), attempt: 3),
            .park(until: now + 1_000)
        ),
        ("not yet due: park", facts(later(.notYetDue, now + 2_000)), .park(until: now + 2_000)),
        (
            "429 while the partition leaves: hand back",
            facts(later(.rateLimited(retryAfterSeconds: 30), now + 30_000), cancelled: true), .handBack
        ),
        ("shutting down: hand back", facts(later(.shuttingDown)), .handBack),
        ("withdrawn: hand back", facts(later(.withdrawn)), .handBack),
        (
            "503 at attempt 1: retry topic 1 after 10 s", facts(later(.serverError(status: 503))),
            .retry(topicIndex: 0, due: now + 10_000)
        ),
        (
            "timeout at attempt 2: retry topic 2 after 60 s", facts(later(.timeout), attempt: 2),
            .retry(topicIndex: 1, due: now + 60_000)
        ),
        (
            "503 while leaving: it may have been sent, so still retried",
            facts(later(.serverError(status: 503)), attempt: 3, cancelled: true),
            .retry(topicIndex: 2, due: now + 600_000)
        ),
        (
            "503 at attempt 4: retries exhausted", facts(later(.serverError(status: 503)), attempt: 4),
            .deadLetter(
                code: "retries_exhausted",
                reason: "cs: not delivered after 4 attempts; last: server error (HTTP 503)")
        ),
        (
            "410 archived: dead letter with Slack's code", facts(.permanent(.channelIsArchived)),
            .deadLetter(code: "channel_is_archived", reason: "cs: 410 channel_is_archived")
        ),
        (
            "SMTP 451 at attempt 1: retry topic 1 after 10 s, like a 5xx", facts(later(.smtpTransient(code: 451))),
            .retry(topicIndex: 0, due: now + 10_000)
        ),
        (
            "SMTP 550: dead letter with smtp_550", facts(.permanent(.smtpRejected(code: 550))),
            .deadLetter(code: "smtp_550", reason: "cs: SMTP server answered 550 (permanent)")
        ),
    ]

    @Test(arguments: table)
    func verdict(_ row: (String, OutcomeRouting.Facts, OutcomeRouting.Verdict)) {
        #expect(OutcomeRouting.decide(row.1, policy: Self.policy) == row.2, "\(row.0)")
    }

    @Test func fewerDelaysThanTopicsDeadLettersPastTheLastDelay() {
        let policy = OutcomeRouting.Policy(retryTopics: 3, retryDelaysMs: [1_000])
        let verdict = OutcomeRouting.decide(Self.facts(Self.later(.timeout), attempt: 2), policy: policy)
        #expect(
            verdict
                == .deadLetter(
                    code: "retries_exhausted", reason: "cs: not delivered after 2 attempts; last: timeout"))
    }

    @Test func aDelayPastTheEndOfTimeIsClampedNotTrapped() {
        let policy = OutcomeRouting.Policy(retryTopics: 1, retryDelaysMs: [.max])
        let verdict = OutcomeRouting.decide(Self.facts(Self.later(.timeout)), policy: policy)
        #expect(verdict == .retry(topicIndex: 0, due: .max))
    }
}
