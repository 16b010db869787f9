import AlertRules
import Backtest
import Contracts
import HealthModel
import Testing

/// The labelled detection benchmark: its histories are deterministic and labelled as documented,
/// and its figures count what they say they count.
@Suite struct DetectionBenchmarkTests {
    static let options = LabelledHistory.Options(seed: 5, accounts: 40, days: 60, storyShare: 0.5, warmUpDays: 30)

    @Test func theSameSeedGivesTheSameBytesAndAnotherSeedOtherBytes() {
        let a = LabelledHistory(options: Self.options)
        let b = LabelledHistory(options: Self.options)
        #expect(a.lines(forDay: 35) == b.lines(forDay: 35))
        var other = Self.options
        other.seed = 6
        #expect(LabelledHistory(options: other).lines(forDay: 35) != a.lines(forDay: 35))
    }

    @Test func everyStoryTypeHasAccountsWithAnOnsetAfterTheWarmUpAndEveryLineParses() throws {
        let history = LabelledHistory(options: Self.options)
        let storied = history.accounts.filter { $0.story != nil }
        #expect(storied.count == 20)
        #expect(Set(storied.compactMap(\.story)) == Set(LabelledHistory.Story.allCases))
        let warmUpEnd = history.startMs + 30 * Timestamp.millisecondsPerDay
        #expect(storied.allSatisfy { ($0.onsetMs ?? 0) >= warmUpEnd && ($0.onsetMs ?? .max) < history.endMs })
        #expect(history.accounts.filter { $0.story == nil }.allSatisfy { $0.onsetMs == nil })
        let parser = EventParser()
        var last: Int64 = 0
        for day in [0, 31, 59] {
            for line in history.lines(forDay: day) {
                let event = try parser.parse(line)
                #expect(event.occurredAt.millisecondsSinceEpoch >= last, "events out of order on day \(day)")
                last = event.occurredAt.millisecondsSinceEpoch
            }
        }
    }

    @Test func aSilentAccountSendsNothingAfterItsOnsetAndAPaymentStorySendsItsRetry() throws {
        let history = LabelledHistory(options: Self.options)
        let silent = try #require(history.accounts.first { $0.story == .goingSilent })
        let payment = try #require(history.accounts.first { $0.story == .paymentFailures })
        let parser = EventParser()
        var silentAfter = 0
        var retries = 0
        for day in 0..<60 {
            for line in history.lines(forDay: day) {
                let e = try parser.parse(line)
                if e.accountId == silent.id, e.occurredAt.millisecondsSinceEpoch >= silent.onsetMs! { silentAfter += 1 }
                if e.accountId == payment.id, e.type == .billingRetryFailed { retries += 1 }
            }
        }
        #expect(silentAfter == 0)
        #expect(retries == 1)
    }

    static func alert(_ account: String, _ type: AlertType, at ms: Int64, id: String) -> RaisedAlert {
        RaisedAlert(
            alert: AlertRecord(
                alertId: id, type: type, severity: .high, priority: Priority(level: 2)!, destination: "d",
                accountId: account, raisedAt: Timestamp(millisecondsSinceEpoch: ms)),
            disposition: .now)
    }

    @Test func figuresCountHoursFromOnsetToTheFirstExpectedAlertAndFalseAlertsAfterTheWarmUp() throws {
        let history = LabelledHistory(options: Self.options)
        let silent = history.accounts.filter { $0.story == .goingSilent }
        let ordinary = try #require(history.accounts.first { $0.story == nil && $0.noise == .ordinary })
        let warmUpEnd = history.startMs + 30 * Timestamp.millisecondsPerDay
        var result = BacktestResult()
        var raised = [
            // Detected 10 h after its onset; an earlier alert and an alert of another type do not count.
            Self.alert(silent[0].id, .customerAtRisk, at: silent[0].onsetMs! - 3_600_000, id: "a0"),
            Self.alert(silent[0].id, .expansionSignal, at: silent[0].onsetMs! + 3_600_000, id: "a1"),
            Self.alert(silent[0].id, .healthScoreDrop, at: silent[0].onsetMs! + 10 * 3_600_000, id: "a2"),
            // The same alert twice (two destinations) is one alert.
            Self.alert(ordinary.id, .healthScoreDrop, at: warmUpEnd + 1000, id: "f1"),
            Self.alert(ordinary.id, .healthScoreDrop, at: warmUpEnd + 1000, id: "f1"),
            // Before the warm-up ends: not counted.
            Self.alert(ordinary.id, .healthScoreDrop, at: warmUpEnd - 1000, id: "f0"),
        ]
        if silent.count > 1 {
            raised.append(Self.alert(silent[1].id, .customerAtRisk, at: silent[1].onsetMs! + 30 * 3_600_000, id: "b"))
        }
        result.runs = [RulesRun(raised: raised)]
        let figures = DetectionFigures(history: history, result: result)
        let story = try #require(figures.stories.first { $0.story == .goingSilent })
        #expect(story.hours.first == 10)
        #expect(story.hours.count == min(2, silent.count) && story.missed == silent.count - story.hours.count)
        let noise = try #require(figures.noise.first { $0.noise == .ordinary })
        #expect(noise.falseAlerts == 1 && noise.accountsAlerted == 1)
        #expect(noise.perThousandPerMonth > 0)
        #expect(figures.lines.contains { $0.hasPrefix("going_silent") })
    }
}
