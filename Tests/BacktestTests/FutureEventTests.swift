import AlertRules
import Backtest
import Contracts
import Foundation
import HealthModel
import TestSupport
import Testing

/// Issue 22, row 4: one event dated 2029 in a history file. The offline tools apply the runtime's
/// future-time bound (`FutureTimeBound`): the event is rejected with its line number and the
/// runtime's code and reason, and the rest of the history scores exactly as if it were absent.
@Suite struct FutureEventTests {
    static let future =
        #"{"event_id":"e-2029","account_id":"acct-007","type":"login","#
        + #""occurred_at":"2029-06-01T12:00:00Z","user_id":"u-1","properties":{}}"#

    /// The sample's lines, and the same lines with the 2029 event inserted as line `at + 1`.
    static func histories(insertingAt at: Int) -> (clean: [UInt8], dirty: [UInt8]) {
        var lines = Fixtures.generator.allLines()
        let clean = joined(lines)
        lines.insert(Array(future.utf8), at: at)
        return (clean, joined(lines))
    }

    static func joined(_ lines: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = []
        for line in lines {
            out += line
            out.append(0x0A)
        }
        return out
    }

    /// The reference time of the bound (the wall clock at run time for the commands).
    static let now = Timestamp(year: 2026, month: 12, day: 1)

    @Test func backtestRejectsTheEventAndScoresTheRestAsIfItWereAbsent() async throws {
        try await CPULane.run {
            let at = Fixtures.generator.allLines().count / 3
            let (clean, dirty) = Self.histories(insertingAt: at)
            let engine = try Fixtures.rules()
            let options = Backtest.Options(now: Self.now)
            let without = Backtest.run(clean, engines: [engine], options: options)
            let with = Backtest.run(dirty, engines: [engine], options: options)
            #expect(
                with.summary.tooLate == without.summary.tooLate,
                "\(with.summary.tooLate) events too late with the 2029 event, \(without.summary.tooLate) without")
            #expect(
                with.primary.alerts == without.primary.alerts,
                "\(with.primary.alerts.count) alerts with the 2029 event, \(without.primary.alerts.count) without")
            #expect(with.series == without.series, "the score series differ")
            #expect(with.scoreRecords == without.scoreRecords && with.summary.accounts == without.summary.accounts)
            #expect(with.lastEventAt == without.lastEventAt)
            #expect(
                with.badLines == [BadLine(number: at + 1, reason: "future_event_time: " + FutureTimeBound().reason())],
                "bad lines: \(with.badLines)")
            #expect(with.summary.rejected == [FutureTimeBound().reason(): 1] && without.badLineCount == 0)
        }
    }

    @Test func replayRejectsTheEventAndScoresTheRestAsIfItWereAbsent() async throws {
        try await CPULane.run {
            let at = Fixtures.generator.allLines().count / 3
            let (clean, dirty) = Self.histories(insertingAt: at)
            let without = try Replay.run(clean, now: Self.now)
            let with = try Replay.run(dirty, now: Self.now)
            #expect(
                with.output == without.output,
                "the score records differ (\(with.output.count) bytes, \(without.output.count) without)")
            #expect(with.summary.tooLate == without.summary.tooLate)
            #expect(with.summary.accounts == without.summary.accounts)
            #expect(
                with.summary.rejectedLines == [
                    Replay.RejectedLine(number: at + 1, code: "future_event_time", reason: FutureTimeBound().reason())
                ],
                "\(with.summary.rejectedLines)")
        }
    }

    // The bound is relative to the reference time: the same history read with a reference in 2029
    // (a history recorded ahead of this machine's clock) takes the event, and an event within the
    // skew is taken.
    @Test func theReferenceTimeDecidesWhatIsInTheFuture() async throws {
        try await CPULane.run {
            let at = Fixtures.generator.allLines().count / 3
            let (_, dirty) = Self.histories(insertingAt: at)
            let later = try Replay.run(dirty, now: Timestamp(year: 2029, month: 6, day: 1, hour: 11, minute: 55))
            #expect(later.summary.rejectedTotal == 0, "\(later.summary.rejected)")
            let unbounded = try Replay.run(dirty)
            #expect(unbounded.summary.rejectedTotal == 0, "no reference time, no bound")
            let bound = FutureTimeBound()
            let soon = Self.now.millisecondsSinceEpoch + bound.maxClockSkewMilliseconds
            #expect(
                bound.admits(soon, now: Self.now.millisecondsSinceEpoch)
                    && !bound.admits(soon + 1, now: Self.now.millisecondsSinceEpoch))
        }
    }
}
