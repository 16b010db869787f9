import AlertRules
import Contracts
import Testing

/// Whether a score record is news is decided by its identity, not by its time and score: two
/// invoices failing in the same second both alert, a late record's new trigger alerts, and only an
/// exact repeat (a record emitted again after a scorer crash) is skipped.
@Suite struct RecordIdentityTests {
    typealias T = TestSupport

    static let rules =
        T.atRiskRule + """

              - name: billing
                type: billing_retry_failed
                when: {trigger: [billing_retry_failed]}
                severity: high
                cooldown: 0
            """

    static func billing(_ invoice: String, at: String, score: Int = 76, event: String? = nil) -> ScoreRecord {
        let trigger = T.trigger(.billingRetryFailed, ref: invoice, at: at, event: event ?? "e-\(invoice)")
        return T.record(at: at, score: score, triggers: [trigger])
    }

    // Reproduced: the second invoice's record has the same valid_at and score as the first and was
    // dropped as a repeat (one alert, not two).
    @Test func twoInvoicesFailingInTheSameSecondBothAlert() throws {
        var run = Run(try T.engine(T.rules(Self.rules)))
        let first = run.feed(Self.billing("inv-77", at: "2026-11-20T16:00:00Z"))
        let second = run.feed(Self.billing("inv-78", at: "2026-11-20T16:00:00Z"))
        #expect(first.map { $0.trigger?.ref } == ["inv-77"])
        #expect(second.map { $0.trigger?.ref } == ["inv-78"], "the second invoice is news")
    }

    // Reproduced: a record older than the last one evaluated was dropped whole, its new trigger too.
    @Test func aLateRecordsNewTriggerAlerts() throws {
        var run = Run(try T.engine(T.rules(Self.rules)))
        _ = run.feed(T.record(at: "2026-11-20T16:00:00Z", score: 80))
        let late = run.feed(Self.billing("inv-90", at: "2026-11-20T15:59:00Z", score: 80))
        #expect(late.map { $0.trigger?.ref } == ["inv-90"], "a trigger is news until it was seen")
    }
}

/// The identity rule in detail: repeats, late and too-late records, old records without a
/// sequence, and the bounded memory in the changelog.
@Suite struct RecordNewsTests {
    typealias T = TestSupport
    typealias B = RecordIdentityTests

    static func engine() throws -> RulesEngine { try T.engine(T.rules(B.rules)) }

    @Test func anExactRepeatIsSkippedAndChangesNothing() throws {
        let engine = try Self.engine()
        var state = AccountAlertState()
        let record = B.billing("inv-1", at: "2026-11-20T16:00:00Z", score: 60)
        let first = engine.evaluation(of: record, state: &state)
        #expect(first.news == .current && first.alerts.count == 2, "at-risk and billing")
        // Later records, then the first one again (a scorer that crashed emits it again).
        _ = engine.evaluation(of: T.record(at: "2026-11-20T17:00:00Z", score: 61), state: &state)
        let before = state
        let again = engine.evaluation(of: record, state: &state)
        #expect(again.news == .repeated && again.alerts.isEmpty)
        #expect(state == before, "a skipped record leaves the state as it was")
    }

    @Test func aLateRecordDoesNotTakeTheScoreBackInTime() throws {
        let engine = try Self.engine()
        var state = AccountAlertState()
        _ = engine.evaluation(of: T.record(at: "2026-11-20T16:00:00Z", score: 80), state: &state)
        // An older record in the at-risk zone, with a trigger: the trigger alerts, the zone does not.
        let late = engine.evaluation(of: B.billing("inv-5", at: "2026-11-19T16:00:00Z", score: 50), state: &state)
        #expect(late.news == .late)
        #expect(late.alerts.map(\.type) == [.billingRetryFailed])
        // The newest score still rules: a later healthy record opens nothing, raises nothing.
        #expect(engine.evaluation(of: T.record(at: "2026-11-20T17:00:00Z", score: 81), state: &state).alerts.isEmpty)
        // The same trigger in another late record is not news: it was seen.
        let again = B.billing("inv-5", at: "2026-11-19T18:00:00Z", score: 50, event: "e-other")
        let seen = engine.evaluation(of: again, state: &state)
        #expect(seen.news == .late && seen.alerts.isEmpty)
    }

    @Test func aRecordOlderThanTheDedupWindowIsTooLate() throws {
        let engine = try Self.engine()
        var state = AccountAlertState()
        _ = engine.evaluation(of: T.record(at: "2026-11-20T16:00:00Z", score: 80), state: &state)
        let old = engine.evaluation(of: B.billing("inv-6", at: "2026-10-20T15:59:00Z"), state: &state)
        #expect(old.news == .tooLate && old.alerts.isEmpty, "31 days before the newest record")
        let inside = engine.evaluation(of: B.billing("inv-6", at: "2026-10-21T16:00:00Z"), state: &state)
        #expect(inside.news == .late && inside.alerts.count == 1, "30 days before it: within the window")
    }

    // Records written before `sequence` existed: the rest of the identity tells them apart; with a
    // sequence, two records equal in everything else are two records.
    @Test func identityWithAndWithoutASequence() throws {
        let a = T.record(at: "2026-11-20T16:00:00Z", score: 70)
        var b = a
        #expect(a.identity == b.identity, "no sequence, all else equal: the same record")
        b.eventIds = ["e-2"]
        #expect(a.identity != b.identity)
        var s1 = a
        var s2 = a
        s1.sequence = 1
        s2.sequence = 2
        #expect(s1.identity != s2.identity && s1.identity != a.identity)
        var t = a
        t.triggers = [T.trigger(.billingRetryFailed, ref: "inv-1", at: "2026-11-20T16:00:00Z", event: "e-1")]
        var u = t
        u.triggers[0].ref = "inv-2"
        #expect(t.identity != u.identity && t.identity != a.identity)
        // Length-prefixed: moving a character between two ids changes the identity.
        var x = a
        var y = a
        x.eventIds = ["ab", "c"]
        y.eventIds = ["a", "bc"]
        #expect(x.identity != y.identity)

        let engine = try Self.engine()
        var state = AccountAlertState()
        #expect(engine.evaluation(of: s1, state: &state).news == .current)
        #expect(
            engine.evaluation(of: s2, state: &state).news == .current,
            "same time, score and ids, next sequence: news")
        #expect(engine.evaluation(of: s1, state: &state).news == .repeated)
    }

    @Test func theMemoryOfRecordsIsBoundedAndSurvivesTheChangelog() throws {
        let engine = try Self.engine()
        var state = AccountAlertState()
        var records: [ScoreRecord] = []
        for k in 0..<50 {
            var r = T.record(at: "2026-11-20T16:00:00Z", score: 75)
            r.sequence = k + 1
            records.append(r)
            _ = engine.evaluation(of: r, state: &state)
        }
        let restored = try AccountAlertState(decoding: state.encoded())
        #expect(restored == state)
        state = restored
        let capacity = AccountAlertState.recentRecordCapacity
        for r in records.suffix(capacity) { #expect(engine.evaluation(of: r, state: &state).news == .repeated) }
        #expect(state.recentRecordCount == capacity, "bounded")
        let size = try state.encoded().count
        #expect(size < 120, "bounded: \(size) bytes")
    }
}
