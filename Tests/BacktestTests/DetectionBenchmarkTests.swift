import AlertRules
import Backtest
import Contracts
import HealthModel
import TestSupport
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

    // MARK: Each story's onset is where its events change

    /// 126 accounts, all with a story: the accounts 0, 7, 14, ... are ordinary in `plain` (the same
    /// seed without stories), so each story type has two accounts whose history without the story
    /// is known.
    static let storied = LabelledHistory(
        options: .init(seed: 5, accounts: 126, days: 60, storyShare: 1, warmUpDays: 30))
    static let plain = LabelledHistory(options: .init(seed: 5, accounts: 126, days: 60, storyShare: 0, warmUpDays: 30))

    /// Every line of `history` by account, with its event time, in order.
    static func linesByAccount(_ history: LabelledHistory) -> [String: [(ms: Int64, line: [UInt8])]] {
        let parser = EventParser()
        var out: [String: [(ms: Int64, line: [UInt8])]] = [:]
        for day in 0..<history.options.days {
            for line in history.lines(forDay: day) {
                guard let event = try? parser.parse(line) else { continue }
                out[event.accountId, default: []].append((event.occurredAt.millisecondsSinceEpoch, line))
            }
        }
        return out
    }

    static let storiedLines = linesByAccount(storied)
    static let plainLines = linesByAccount(plain)

    /// The logins of `lines` from `from` on.
    static func logins(_ lines: [(ms: Int64, line: [UInt8])], from: Int64) -> Int {
        let parser = EventParser()
        return lines.filter { $0.ms >= from && (try? parser.parse($0.line))?.type == .login }.count
    }

    /// Before its onset, a story account's lines are byte for byte those of the same account without
    /// its story; the first line that differs is at the onset (a business event: a failed payment,
    /// a ticket, the champion's departure, the seats) or later; logins from the onset to the end of
    /// the history, against the same account without its story, move as the story says (measured on
    /// these accounts: collapse 0.05, silent 0, gradual decline 0.50, champion left 0.66, seat
    /// contraction 0.36, expansion 1.48, upsell 1.76, payment failures and ticket spike 1).
    @Test(arguments: LabelledHistory.Story.allCases)
    func aStoryChangesItsAccountsEventsFromItsOnsetAndNotBefore(story: LabelledHistory.Story) async throws {
        try await CPULane.run {
            let pairs = Self.storied.accounts.indices.filter {
                Self.storied.accounts[$0].story == story && Self.plain.accounts[$0].noise == .ordinary
            }
            #expect(pairs.count == 2)
            var withStory = 0
            var without = 0
            for i in pairs {
                let account = Self.storied.accounts[i]
                #expect(Self.plain.accounts[i].id == account.id && Self.plain.accounts[i].tier == account.tier)
                let onset = try #require(account.onsetMs)
                let a = Self.storiedLines[account.id] ?? []
                let b = Self.plainLines[account.id] ?? []
                #expect(a.filter { $0.ms < onset }.map(\.line) == b.filter { $0.ms < onset }.map(\.line))
                let common = min(a.count, b.count)
                let firstDifference = (0..<common).first { a[$0].line != b[$0].line } ?? common
                let differsAt = min(
                    firstDifference < a.count ? a[firstDifference].ms : .max,
                    firstDifference < b.count ? b[firstDifference].ms : .max)
                #expect(
                    differsAt >= onset && differsAt < Self.storied.endMs, "\(account.id): the story changes nothing")
                switch story {
                case .paymentFailures, .ticketSpike, .championLeft, .seatContraction, .expansion:
                    #expect(differsAt == onset, "\(account.id): its business event is at the onset")
                default: break
                }
                withStory += Self.logins(a, from: onset)
                without += Self.logins(b, from: onset)
            }
            let ratio = Double(withStory) / Double(max(1, without))
            let expected: ClosedRange<Double> =
                switch story {
                case .suddenCollapse: 0...0.15  // a twentieth
                case .goingSilent: 0...0
                case .gradualDecline: 0.4...0.9  // down to a fifth over three weeks; 10 to 30 days observed
                case .championLeft: 0.5...0.85  // two thirds
                case .seatContraction: 0.25...0.5  // 0.6 of the level and 0.6 of the users: 0.36
                case .expansion: 1.3...1.7  // half again as many users
                case .upsell: 1.5...2.1  // 1.8
                case .paymentFailures, .ticketSpike: 1...1  // activity unchanged
                }
            #expect(
                expected.contains(ratio), "logins after the onset: \(withStory) against \(without) without the story")
        }
    }

    // MARK: The arithmetic of the figures

    /// Nearest-rank quantiles of the detected accounts' hours, and the missed ones.
    @Test(
        arguments: [
            // (accounts, hours, p50, p90, max)
            (3, [], nil, nil, nil),
            (1, [5], 5, 5, 5),
            (2, [1, 2], 1, 2, 2),
            (12, Array(1...10).map(Double.init), 5, 9, 10),
            (20, Array(1...20).map(Double.init), 10, 18, 20),
            (30, [0.5, 0.5, 0.5, 71.8], 0.5, 71.8, 71.8),
        ] as [(Int, [Double], Double?, Double?, Double?)])
    func quantilesAreNearestRankOverTheDetectedAccounts(
        accounts: Int, hours: [Double], p50: Double?, p90: Double?, max: Double?
    ) {
        let figures = DetectionFigures.StoryFigures(story: .suddenCollapse, accounts: accounts, hours: hours)
        #expect(figures.quantile(0.5) == p50)
        #expect(figures.quantile(0.9) == p90)
        #expect(figures.quantile(1) == max)
        #expect(figures.missed == accounts - hours.count)
    }

    /// 70 ordinary accounts (10 per kind of noise) observed 30 days after the warm-up (one month),
    /// with a holiday every account shares among those days.
    static let noiseOnly = LabelledHistory(
        options: .init(seed: 5, accounts: 70, days: 70, storyShare: 0, warmUpDays: 40))

    /// Working hours: every week holds 50 of each account's (ten a weekday, in its own time zone), and
    /// a week over the holiday every account shares 30; none between an instant and itself.
    @Test func aWeekHoldsFiftyWorkingHoursAndTheSharedHolidayTakesTwenty() throws {
        let history = Self.noiseOnly
        let holiday = try #require(history.sharedHolidayDays.first) * Timestamp.millisecondsPerDay
        let week = 7 * Timestamp.millisecondsPerDay
        for index in history.accounts.indices {
            let plain = history.startMs + 3 * Timestamp.millisecondsPerDay + Int64(index) * 3_600_000 / 7
            #expect(abs(history.businessHours(ofAccount: index, from: plain, to: plain + week) - 50) < 1e-9)
            let over = holiday - 2 * Timestamp.millisecondsPerDay
            #expect(abs(history.businessHours(ofAccount: index, from: over, to: over + week) - 30) < 1e-9)
            #expect(history.businessHours(ofAccount: index, from: plain, to: plain) == 0)
        }
        // Two days from a Saturday 00:00 UTC hold at most the hours of a Monday morning east of UTC.
        var saturday = history.startMs / Timestamp.millisecondsPerDay + 7
        while (saturday + 3) % 7 != 5 { saturday += 1 }
        let weekend = (0..<history.accounts.count).map {
            history.businessHours(
                ofAccount: $0, from: saturday * Timestamp.millisecondsPerDay,
                to: (saturday + 2) * Timestamp.millisecondsPerDay)
        }
        #expect(weekend.allSatisfy { $0 <= 2 } && weekend.contains(0), "\(Set(weekend))")
    }

    /// The alerts the shared holiday causes are counted against the same history without it: with the
    /// population off (every account judged alone) the holiday alerts accounts that do not alert
    /// without it; the listed false alerts are the counted ones, flagged in the holiday's window.
    @Test func theAlertsAHolidayCausesAreThoseTheSameHistoryWithoutItDoesNotRaise() async throws {
        try await CPULane.run {
            let engine = try Fixtures.rules()
            var alone = ScoringConfig()
            alone.populationMinAccounts = 0
            let figures = DetectionFigures.measure(Self.noiseOnly, scorer: HealthScorer(config: alone), engine: engine)
            let caused = try #require(figures.holidayCausedAlerts, "measured without the holiday too")
            #expect(caused > 0, "accounts judged alone alert for a holiday all of them share")
            #expect(caused <= figures.holidayFalseAlerts)
            let alerted = try #require(figures.holidayAlertedAccounts)
            #expect(alerted > 0 && alerted <= caused, "\(alerted) accounts, \(caused) alerts")
            #expect(figures.falseAlerts.count == figures.noise.reduce(0) { $0 + $1.falseAlerts })
            #expect(figures.falseAlerts.filter(\.duringSharedHoliday).count == figures.holidayFalseAlerts)
            let withPopulation = DetectionFigures.measure(Self.noiseOnly, engine: engine)
            #expect(
                try #require(withPopulation.holidayCausedAlerts) < caused,
                "the population allows for the holiday (\(withPopulation.holidayCausedAlerts ?? -1) against \(caused))")
        }
    }

    /// An outage of the customer's own event pipeline: no activity from any account in the two shared
    /// UTC days, activity on the days around them; the days are the same as the holiday's would be.
    @Test func aSharedOutageSilencesEveryAccountForItsTwoDaysOnly() throws {
        var options = Self.noiseOnly.options
        options.sharedOutage = true
        let history = LabelledHistory(options: options)
        #expect(history.sharedHolidayDays == Self.noiseOnly.sharedHolidayDays)
        let first = try #require(history.sharedHolidayDays.first)
        let outage = first * Timestamp.millisecondsPerDay..<(first + 2) * Timestamp.millisecondsPerDay
        let parser = EventParser()
        var inside = 0
        var before = Set<String>()
        let firstIndex = Int((outage.lowerBound - history.startMs) / Timestamp.millisecondsPerDay)
        for day in (firstIndex - 2)...(firstIndex + 3) {
            for line in history.lines(forDay: day) {
                let e = try parser.parse(line)
                guard e.type.isActivity else { continue }
                if outage.contains(e.occurredAt.millisecondsSinceEpoch) { inside += 1 }
                if e.occurredAt.millisecondsSinceEpoch < outage.lowerBound { before.insert(e.accountId) }
            }
        }
        #expect(inside == 0, "activity during the outage")
        #expect(before.count >= history.accounts.count / 2, "\(before.count) accounts active before it")
    }

    /// The population allows for an outage every account shares as it does for a holiday: no account
    /// with a plain weekday rhythm alerts in its window, and it causes at most one alert (seed 5: the
    /// account whose own two-day tracking outage ends the day before it, four dark days in a row).
    @Test func aSharedOutageAlertsNoPlainAccount() async throws {
        try await CPULane.run {
            var options = Self.noiseOnly.options
            options.sharedOutage = true
            let figures = DetectionFigures.measure(LabelledHistory(options: options), engine: try Fixtures.rules())
            #expect(figures.sharedDays == "outage")
            let during = figures.falseAlerts.filter(\.duringSharedHoliday)
            #expect(during.allSatisfy { $0.noise != .ordinary }, "\(during.map(\.accountId))")
            #expect(try #require(figures.holidayCausedAlerts, "measured without the outage too") <= 1)
        }
    }

    /// False alerts per 1,000 accounts per month: per kind of noise, over all of them, and outside
    /// the shared holiday's four days (the months shortened by them).
    @Test(
        arguments: [
            // (risk alerts on `ordinary` accounts outside the holiday, during it, then per 1,000 accounts
            // per month: the kind, all noise, all noise outside the holiday; accounts alerted)
            (0, 0, 0, 0, 0, 0),
            (1, 0, 100, 1000.0 / 70, 1000.0 / 70 / (26.0 / 30), 1),
            (0, 1, 100, 1000.0 / 70, 0, 1),
            (3, 2, 500, 5000.0 / 70, 3000.0 / 70 / (26.0 / 30), 3),
            (10, 10, 2000, 20000.0 / 70, 10000.0 / 70 / (26.0 / 30), 10),
        ] as [(Int, Int, Double, Double, Double, Int)])
    func falseAlertsArePerThousandAccountsPerMonth(
        outside: Int, during: Int, perKind: Double, all: Double, outsideHoliday: Double, alerted: Int
    ) throws {
        let history = Self.noiseOnly
        let ordinary = history.accounts.filter { $0.noise == .ordinary }
        #expect(ordinary.count == 10)
        let holiday = try #require(history.sharedHolidayDays.first) * Timestamp.millisecondsPerDay
        let warmUpEnd = history.startMs + 40 * Timestamp.millisecondsPerDay
        #expect(holiday > warmUpEnd + Timestamp.millisecondsPerDay)
        var raised: [RaisedAlert] = []
        for k in 0..<outside {
            raised.append(Self.alert(ordinary[k % 10].id, .healthScoreDrop, at: warmUpEnd + 3_600_000, id: "o\(k)"))
        }
        for k in 0..<during {
            raised.append(Self.alert(ordinary[k % 10].id, .customerAtRisk, at: holiday + 12 * 3_600_000, id: "h\(k)"))
        }
        var result = BacktestResult()
        result.runs = [RulesRun(raised: raised)]
        let figures = DetectionFigures(history: history, result: result)
        #expect(figures.months == 1)
        #expect(figures.ordinaryAccounts == 70 && figures.holidayFalseAlerts == during)
        let kind = try #require(figures.noise.first { $0.noise == .ordinary })
        #expect(kind.falseAlerts == outside + during && kind.accountsAlerted == alerted)
        #expect(abs(kind.perThousandPerMonth - perKind) < 1e-9)
        #expect(abs(figures.falseAlertsPerThousandPerMonth - all) < 1e-9)
        #expect(abs(figures.falseAlertsOutsideHolidayPerThousandPerMonth - outsideHoliday) < 1e-9)
        #expect(figures.noise.filter { $0.noise != .ordinary }.allSatisfy { $0.falseAlerts == 0 })
    }
}
