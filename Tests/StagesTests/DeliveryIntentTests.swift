import Contracts
import SlackDelivery
import Testing

@testable import Stages

/// Write-ahead intents in the delivery log: what an assignment reads back as delivered or in doubt.
@Suite struct DeliveryIntentTests {
    static let t0: Int64 = 1_800_000_000_000

    static func intent(_ id: String, at ms: Int64 = t0) -> [UInt8] {
        try! RecordCoding.encode(
            DeliveryIntent(
                alertId: id, destination: "d", accountId: "acme", type: "customer_at_risk",
                postingAt: Timestamp(millisecondsSinceEpoch: ms), messageAlertIds: [id]))
    }

    static func delivered(_ id: String, reconciled: Bool? = nil) -> [UInt8] {
        try! RecordCoding.encode(
            DeliveryLogEntry(
                alertId: id, destination: "d", accountId: "acme", type: "customer_at_risk",
                deliveredAt: Timestamp(millisecondsSinceEpoch: t0 + 5), status: 200, retries: 0, messageAlertIds: [id],
                reconciled: reconciled))
    }

    @Test func anIntentWithoutALaterDeliveryIsInDoubt() {
        var s = DeliveryLogSnapshot()
        s.apply(key: "a|d", value: Self.intent("a"), timestamp: Self.t0)
        s.apply(key: "a|d", value: Self.delivered("a"), timestamp: Self.t0 + 5)  // posted and logged
        // posted (maybe), not logged
        s.apply(key: "b|d", value: Self.intent("b", at: Self.t0 + 7), timestamp: Self.t0 + 7)
        // an entry written before intents existed
        s.apply(key: "c|d", value: Self.delivered("c"), timestamp: Self.t0 + 9)
        s.apply(key: "e|d", value: Self.intent("e"), timestamp: Self.t0)
        s.apply(key: "e|d", value: nil, timestamp: Self.t0 + 1)  // a tombstone forgets it
        #expect(s.delivered == ["a|d": Self.t0 + 5, "c|d": Self.t0 + 9])
        #expect(s.inDoubt == ["b|d": Self.t0 + 7])
    }

    @Test func intentsAreNotDeliveriesForOldReadersAndDeliveriesStayReadable() throws {
        // A reader of DeliveryLogEntry (reports, older tools) never takes an intent for a delivery.
        #expect((try? RecordCoding.decode(DeliveryLogEntry.self, from: Self.intent("a"))) == nil)
        #expect(DeliveryLogValue.decode(Self.intent("a")) != .unreadable)
        guard case .delivered(let entry) = DeliveryLogValue.decode(Self.delivered("a", reconciled: true)) else {
            Issue.record("a delivery must read as one")
            return
        }
        #expect(entry.reconciled == true)
        // An entry without `reconciled` (every normal post, and entries of older dispatchers).
        let plain =
            #"{"alert_id":"a","destination":"d","account_id":"acme","type":"t","delivered_at":"2026-11-20T10:00:00Z","status":200,"retries":0,"message_alert_ids":["a"]}"#
        guard case .delivered(let old) = DeliveryLogValue.decode(Array(plain.utf8)) else {
            Issue.record("an older entry must read as a delivery")
            return
        }
        #expect(old.reconciled == nil)
        #expect(!String(decoding: Self.delivered("a"), as: UTF8.self).contains("reconciled"))
        let text = String(decoding: Self.intent("a"), as: UTF8.self)
        #expect(text.contains(#""state":"posting""#) && !text.contains("delivered_at"))
    }

    @Test func theMemoryKnowsWhatIsInDoubtUntilItIsDelivered() {
        let log = DeliveryLog()
        log.delivered(["here|d"], partition: 0, at: Self.t0)
        log.load(
            partition: 0,
            snapshot: DeliveryLogSnapshot(
                delivered: ["a|d": Self.t0], inDoubt: ["b|d": Self.t0 + 7, "here|d": Self.t0]))
        #expect(log.isDelivered("a|d", partition: 0))
        #expect(log.inDoubtSince("b|d", partition: 0) == Self.t0 + 7)
        // What this process delivered itself is never in doubt (its log write may be on its way).
        #expect(log.inDoubtSince("here|d", partition: 0) == nil)
        #expect(log.inDoubtCount(partition: 0) == 1)
        // A timeout here keeps the earliest time.
        log.markInDoubt(["b|d"], partition: 0, since: Self.t0 + 100)
        #expect(log.inDoubtSince("b|d", partition: 0) == Self.t0 + 7)
        log.delivered(["b|d"], partition: 0, at: Self.t0 + 200)
        #expect(log.inDoubtSince("b|d", partition: 0) == nil && log.isDelivered("b|d", partition: 0))
        log.markInDoubt(["c|d"], partition: 1, since: Self.t0)
        log.clearInDoubt(["c|d"], partition: 1)
        #expect(log.inDoubtSince("c|d", partition: 1) == nil)
        log.markInDoubt(["c|d"], partition: 1, since: Self.t0)
        log.drop(partition: 1)
        #expect(log.inDoubtCount(partition: 1) == 0)
    }

    @Test func anAlertInFlightForAnEarlierAssignmentIsWaitedForNotSkipped() {
        let log = DeliveryLog()
        let first = DeliveryCancellation()
        let second = DeliveryCancellation()
        log.start("a|d", owner: first)
        #expect(log.inFlight("a|d") == .thisAssignment, "read again while its post is on its way: a duplicate")
        first.cancel()  // the partition was revoked; the post may still be finishing
        #expect(
            log.inFlight("a|d") == .earlierAssignment, "the same process owning it again must wait, not skip and commit"
        )
        log.end(["a|d"])  // handed back
        #expect(log.inFlight("a|d") == nil)
        log.start("a|d", owner: second)
        log.delivered(["a|d"], partition: 0, at: Self.t0)
        #expect(log.inFlight("a|d") == nil && log.isDelivered("a|d", partition: 0))
    }

    @Test func inDoubtMarksAreForgottenPastTheHorizon() {
        let log = DeliveryLog(horizonMilliseconds: 1_000)
        log.markInDoubt(["old|d"], partition: 0, since: Self.t0)
        log.markInDoubt(["new|d"], partition: 0, since: Self.t0 + 5_000)
        log.prune(now: Self.t0 + 5_500)
        #expect(log.inDoubtSince("old|d", partition: 0) == nil)
        #expect(log.inDoubtSince("new|d", partition: 0) == Self.t0 + 5_000)
    }

    @Test func anIntentCountdownPostsOnlyWhenEveryIntentIsAcknowledged() {
        let all = IntentCountdown(3)
        #expect(all.arrive(true) == .waiting && all.arrive(true) == .waiting && all.arrive(true) == .allAcknowledged)
        let refused = IntentCountdown(2)
        #expect(refused.arrive(false) == .waiting && refused.arrive(true) == .refused)
    }
}

/// What the dispatcher does with a message whose alerts are in doubt, by destination kind.
@Suite struct InDoubtDecisionTests {
    @Test func nothingInDoubtIsPostedAsUsual() {
        #expect(InDoubtDecision.decide(inDoubt: [], kind: .slack, postTimeoutMs: 10_000) == .post)
        #expect(InDoubtDecision.decide(inDoubt: [], kind: .slackApp, postTimeoutMs: 10_000) == .post)
    }

    @Test func aWebhookCannotBeAskedSoItsAlertsArePostedAgain() {
        #expect(
            InDoubtDecision.decide(inDoubt: [("a", 1_000), ("b", 2_000)], kind: .slack, postTimeoutMs: 10_000)
                == .postAgain(alertIds: ["a", "b"]))
        #expect(
            InDoubtDecision.decide(inDoubt: [("a", 1_000)], kind: .webhook, postTimeoutMs: 10_000)
                == .postAgain(alertIds: ["a"]))
    }

    @Test func aSlackAppIsAskedBetweenTheIntentsWithMargins() {
        let t: Int64 = 1_800_000_000_000
        let margin = InDoubtDecision.reconcileMarginMs
        #expect(
            InDoubtDecision.decide(inDoubt: [("a", t + 5_000), ("b", t)], kind: .slackApp, postTimeoutMs: 10_000)
                == .lookUp(
                    alertIds: ["a", "b"], oldestMilliseconds: t - margin,
                    latestMilliseconds: t + 5_000 + InDoubtDecision.maxIntentWaitMs + 10_000 + margin))
        #expect(InDoubtDecision.maxIntentWaitMs < margin, "a post starts within the window after its intent")
    }

    @Test func whatWasFoundIsLoggedTheRestOfTheMessagePosted() {
        let split = InDoubtDecision.split(["a", "b", "c"], found: ["a", "c", "zz"])
        #expect(split.logged == ["a", "c"] && split.toPost == ["b"])
        #expect(InDoubtDecision.split(["a"], found: []).toPost == ["a"])
    }
}
