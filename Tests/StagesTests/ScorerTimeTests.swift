import Contracts
import Foundation
import HealthModel
import Kafka
import Stages
import Testing
import WorkerRuntime

/// The scorer on the runtime's time model, without Kafka (`ProcessorHarness`): event time from
/// `occurred_at`, events from the future refused, idle re-scoring bounded.
@Suite struct ScorerTimeTests {
    static let day: Int64 = 86_400_000
    /// 2026-11-20T00:00:00Z
    static let start: Int64 = 1_795_132_800_000

    static func event(_ id: String, account: String, at ms: Int64, type: String = "login") -> ConsumedRecord {
        let json =
            #"{"event_id":"\#(id)","account_id":"\#(account)","type":"\#(type)","occurred_at":"\#(Timestamp(millisecondsSinceEpoch: ms).description)","user_id":"u-1","properties":{}}"#
        return ConsumedRecord(
            topic: "account-events", partition: 0, offset: 0, key: Array(account.utf8), value: Array(json.utf8),
            headers: [], timestamp: nil)
    }

    static func outputs(_ outcome: ProcessorHarness<ScorerProcessor>.Outcome) -> [OutgoingRecord] {
        if case .emitted(let records) = outcome { return records }
        return []
    }

    // "One event dated years ahead moved the watermark, re-scored every account through every
    // midnight and made real events too late": it is refused and changes nothing.
    @Test func anEventYearsAheadIsRefusedAndDoesNotMoveTime() throws {
        let harness = ProcessorHarness(processor: ScorerProcessor(scoresTopic: "health-scores", live: false))
        var now = Self.start + 8 * 3_600_000
        for a in 0..<20 {
            for d in 0..<3 {
                _ = harness.process(
                    Self.event("e\(a)-\(d)", account: "acct-\(a)", at: Self.start - Int64(d) * Self.day + 3_600_000),
                    now: now)
            }
        }
        let watermark = harness.context.watermark
        let future = harness.process(Self.event("far", account: "acct-0", at: now + 5 * 365 * Self.day), now: now)
        guard case .rejected(let rejection) = future else {
            Issue.record("accepted an event five years ahead")
            return
        }
        #expect(rejection.code == "future_event_time")
        #expect(rejection.reason.contains("occurred_at in the future"))
        #expect(harness.context.watermark == watermark, "time did not move")
        // A real event right after is counted, not "too late", and re-scores nothing else.
        now += 60_000
        let next = harness.process(Self.event("real", account: "acct-1", at: now - 60_000), now: now)
        guard case .emitted(let records) = next else {
            Issue.record("a real event was refused: \(next)")
            return
        }
        #expect(records.count <= 1, "one event re-scored \(records.count) records")
    }

    @Test func anEventWithinTheSkewIsAccepted() {
        let harness = ProcessorHarness(processor: ScorerProcessor(scoresTopic: "health-scores", live: false))
        let now = Self.start
        let outcome = harness.process(Self.event("soon", account: "acct-0", at: now + 5 * 60_000), now: now)
        if case .rejected(let r) = outcome { Issue.record("refused an event 5 minutes ahead: \(r.reason)") }
        #expect(harness.context.watermark == now + 5 * 60_000)
    }

    // Live, an account whose partition goes quiet still loses health: the timer re-scores at the
    // wall clock's re-scoring times; replay does not.
    @Test func liveTimersRescoreAQuietPartitionOnTheWallClockReplayDoesNot() {
        for live in [true, false] {
            let harness = ProcessorHarness(processor: ScorerProcessor(scoresTopic: "health-scores", live: live))
            for d in 0..<30 {
                for n in 0..<5 {
                    _ = harness.process(
                        Self.event(
                            "e\(d)-\(n)", account: "acct-0", at: Self.start + Int64(d) * Self.day + Int64(n) * 3_600_000
                        ), now: Self.start + Int64(d) * Self.day + 6 * 3_600_000)
                }
            }
            // Silence: ten days of wall clock pass without a record.
            var emitted: [OutgoingRecord] = []
            for d in 30..<40 { emitted += harness.tick(now: Self.start + Int64(d) * Self.day + 2 * 3_600_000) }
            if live {
                #expect(!emitted.isEmpty, "no re-score in ten silent days")
                // Re-scored on the hour (the default): at most one record per re-scoring time passed.
                #expect(
                    emitted.count <= 10 * 24, "at most one re-score per hour for one account, got \(emitted.count)")
            } else {
                #expect(emitted.isEmpty, "replay moved time on the wall clock")
            }
        }
    }

    // After a long pause only the latest midnights are re-scored: one step is bounded.
    @Test func oneStepReScoresAtMostTheBoundedNumberOfMidnights() {
        let harness = ProcessorHarness(
            processor: ScorerProcessor(scoresTopic: "health-scores", live: true, maxMidnightsPerStep: 5))
        for a in 0..<3 {
            _ = harness.process(Self.event("e\(a)", account: "acct-\(a)", at: Self.start), now: Self.start)
        }
        let emitted = harness.tick(now: Self.start + 200 * Self.day)
        #expect(emitted.count <= 3 * 5, "200 days of midnights for 3 accounts gave \(emitted.count) records")
    }

    // Defect found by the fleet's fault tests: a backlog read after a restart (weeks old) was
    // moved to today by the wall clock at its first record, and the rest refused as too late.
    // Records move time by event time only; the timer uses the wall clock once caught up.
    @Test func aBacklogIsScoredInEventTimeAndTheWallClockWaitsUntilItIsRead() {
        let now = Self.start + 60 * Self.day
        let harness = ProcessorHarness(processor: ScorerProcessor(scoresTopic: "health-scores", live: true))
        var tooLate = 0
        for d in 0..<20 {
            // Half-way the partition is assigned again (a restart): its saved watermark resumes.
            if d == 10 { harness.processor.partitionAssigned(context: harness.context) }
            for a in 0..<5 {
                let outcome = harness.process(
                    Self.event("e\(a)-\(d)", account: "acct-\(a)", at: Self.start + Int64(d) * Self.day + 3_600_000),
                    now: now, caughtUp: a == 4)
                if case .rejected(let r) = outcome, r.code == "too_late" { tooLate += 1 }
            }
            #expect(harness.tick(now: now, caughtUp: false).isEmpty, "the timer moved time while a backlog was read")
        }
        #expect(tooLate == 0, "\(tooLate) backlog events were refused as too late")
        #expect(
            !harness.tick(now: now, caughtUp: true).isEmpty,
            "caught up, the timer re-scores the quiet accounts up to today")
    }
}
