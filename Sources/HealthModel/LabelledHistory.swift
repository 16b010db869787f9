import Contracts

/// A labelled benchmark of detection: generated account histories where every account is known to
/// be ordinary (with a kind of noise that must not alert) or to follow a story that must (with the
/// instant it begins), so time to detect and false alerts can be measured on the stages' own
/// domain code (`fleet-admin bench detection`).
///
/// Activity follows each account's rhythm by hour of week: business hours on weekdays in its
/// time zone, little at weekends. Phases are random (the history starts at a random hour, stories
/// begin at a random hour of a random weekday), so a figure does not depend on where midnight falls.
/// Deterministic: the same options give the same bytes.
public struct LabelledHistory: Sendable {
    /// What happens to an account that must raise an alert.
    public enum Story: String, Sendable, CaseIterable, Hashable {
        /// Activity falls to a twentieth overnight.
        case suddenCollapse = "sudden_collapse"
        /// Nothing at all from the onset (a daily-active enterprise account going dark).
        case goingSilent = "going_silent"
        /// Activity declines over three weeks to a fifth.
        case gradualDecline = "gradual_decline"
        /// A failed payment, then its billing retry fails three days later.
        case paymentFailures = "payment_failures"
        /// Five angry tickets in three days, one escalated.
        case ticketSpike = "ticket_spike"
        /// The champion leaves and activity falls by a third.
        case championLeft = "champion_left"
        /// Seats cut by 40%, activity with them.
        case seatContraction = "seat_contraction"
        /// Seats up 50%.
        case expansion
        /// Usage up 80%, sustained.
        case upsell

        /// The alert types that count as detecting the story.
        public var expectedAlerts: Set<AlertType> {
            switch self {
            case .paymentFailures: [.billingRetryFailed]
            case .expansion: [.expansionSignal, .upsellOpportunity]
            case .upsell: [.upsellOpportunity, .expansionSignal]
            default: [.customerAtRisk, .healthScoreDrop]
            }
        }
    }

    /// What an ordinary account's history does that must not alert.
    public enum Noise: String, Sendable, CaseIterable, Hashable {
        /// Weekday business hours, quiet weekends.
        case ordinary
        /// Its region's one-day public holiday (a Monday).
        case regionalHoliday = "regional_holiday"
        /// A quiet month (activity at 60% for four weeks).
        case seasonal
        /// A handful of logins a week.
        case small
        /// Days of triple activity and days of near silence at random.
        case bursty
        /// New: activity ramps up from a tenth over its first four weeks.
        case onboarding
        /// The customer's own tracking breaks for two days: no events at all, then back.
        case trackingOutage = "tracking_outage"
    }

    /// One account of the benchmark and its label.
    public struct Account: Sendable, Hashable {
        public var id: String
        public var tier: Tier
        /// The story, or nil for an ordinary account.
        public var story: Story?
        public var noise: Noise
        /// When the story begins (ms since the epoch).
        public var onsetMs: Int64?
    }

    public struct Options: Sendable, Hashable {
        public var seed: UInt64
        public var accounts: Int
        public var days: Int
        /// Share of accounts that follow a story (the rest are ordinary, spread over the noise kinds).
        public var storyShare: Double
        /// A public holiday for every account (a Thursday and Friday at weekend level) in the last
        /// third of the history, the way a national holiday looks to the whole fleet.
        public var sharedHoliday: Bool
        /// Days of baseline before any story begins.
        public var warmUpDays: Int
        /// The shared days are an outage of the customer's own event pipeline instead of a holiday:
        /// no activity from any account for those two UTC days (with `sharedHoliday`).
        public var sharedOutage: Bool

        public init(
            seed: UInt64 = 1, accounts: Int = 300, days: Int = 75, storyShare: Double = 0.3,
            sharedHoliday: Bool = true, warmUpDays: Int = 40, sharedOutage: Bool = false
        ) {
            self.seed = seed
            self.accounts = accounts
            self.days = days
            self.storyShare = storyShare
            self.sharedHoliday = sharedHoliday
            self.warmUpDays = warmUpDays
            self.sharedOutage = sharedOutage
        }
    }

    public let options: Options
    public let accounts: [Account]
    /// The first instant of the history (a random hour of 2026-03-02, a Monday, moved by the seed).
    public let startMs: Int64
    /// The shared holiday's two days (epoch days), if any.
    public let sharedHolidayDays: [Int64]
    private let rhythms: [Rhythm]

    public init(options: Options) {
        self.options = options
        var rng = SplitMix64(options.seed, 0xDE7EC7, 1)
        let firstDay = Timestamp.epochDay(year: 2026, month: 3, day: 2) + Int64(rng.int(0...6))
        startMs = firstDay * Timestamp.millisecondsPerDay + Int64(rng.int(0...23)) * 3_600_000
        let totalDays = Int64(max(1, options.days))
        if options.sharedHoliday, totalDays > 14 {
            // The first Thursday in the last third of the history.
            var day = firstDay + totalDays * 2 / 3
            while (day + 3) % 7 != 3 { day += 1 }
            sharedHolidayDays = day + 1 < firstDay + totalDays ? [day, day + 1] : []
        } else {
            sharedHolidayDays = []
        }
        var accounts: [Account] = []
        var rhythms: [Rhythm] = []
        let stories = Story.allCases
        let noises = Noise.allCases
        let storyCount = Int((Double(options.accounts) * min(max(options.storyShare, 0), 1)).rounded())
        for i in 0..<max(0, options.accounts) {
            var r = SplitMix64(options.seed, UInt64(i), 7)
            let tier: Tier = r.chance(0.25) ? .enterprise : (r.chance(0.45) ? .midMarket : .smb)
            let story: Story? = i < storyCount ? stories[i % stories.count] : nil
            let noise: Noise = story == nil ? noises[(i - storyCount) % noises.count] : .ordinary
            var onset: Int64?
            if story != nil {
                let span = max(1, options.days - options.warmUpDays - 10)
                let day = firstDay + Int64(options.warmUpDays + r.int(0...(span - 1)))
                onset = day * Timestamp.millisecondsPerDay + Int64(r.int(0...(24 * 60 - 1))) * 60_000
            }
            let id = "bench-\(i)"
            accounts.append(Account(id: id, tier: tier, story: story, noise: noise, onsetMs: onset))
            rhythms.append(
                Rhythm(
                    index: i, tier: tier, noise: noise, seed: options.seed, firstDay: firstDay,
                    days: options.days))
        }
        self.accounts = accounts
        self.rhythms = rhythms
    }

    /// The JSON lines of one day of the history (index 0 is the first day), in event-time order.
    public func lines(forDay dayIndex: Int) -> [[UInt8]] {
        var events: [(ms: Int64, seq: Int, line: [UInt8])] = []
        let epochDay = startMs / Timestamp.millisecondsPerDay + Int64(dayIndex)
        for (i, account) in accounts.enumerated() {
            rhythms[i].events(account, dayIndex: dayIndex, epochDay: epochDay, history: self, into: &events)
        }
        return events.filter { $0.ms >= startMs }.sorted { ($0.ms, $0.seq) < ($1.ms, $1.seq) }.map(\.line)
    }

    /// The last instant of the history.
    public var endMs: Int64 { startMs + Int64(options.days) * Timestamp.millisecondsPerDay }

    /// Hours of account `index`'s working time between two instants (ms): weekdays 08:00-18:00 in its
    /// time zone, the holiday every account shares excepted. How much of its working time a
    /// detection took: an account that never works at weekends gives no evidence of a silence
    /// begun on a Saturday before Monday's first hours.
    public func businessHours(ofAccount index: Int, from: Int64, to: Int64) -> Double {
        guard rhythms.indices.contains(index), to > from else { return 0 }
        let offset = rhythms[index].localOffsetHours * 3_600_000
        var t = from
        var ms: Int64 = 0
        while t < to {
            let hourStart = t - ((t % 3_600_000) + 3_600_000) % 3_600_000
            let end = min(to, hourStart + 3_600_000)
            let local = hourStart + offset
            let localDay =
                (local - ((local % Timestamp.millisecondsPerDay) + Timestamp.millisecondsPerDay)
                    % Timestamp.millisecondsPerDay)
                / Timestamp.millisecondsPerDay
            let localHour = (local - localDay * Timestamp.millisecondsPerDay) / 3_600_000
            let weekday = ((localDay + 3) % 7 + 7) % 7
            if weekday < 5, localHour >= 8, localHour < 18, !sharedHolidayDays.contains(localDay) { ms += end - t }
            t = end
        }
        return Double(ms) / 3_600_000
    }
}

/// One account's habits.
private struct Rhythm: Sendable {
    let index: Int
    let users: Int
    let loginsPerUser: Double
    let weekendFactor: Double
    let localOffsetHours: Int64
    let seed: UInt64
    /// Noise: the quiet month's first day, the bursty account's days, the outage's first day.
    let noiseDay: Int64
    let regionalHoliday: Int64

    init(index: Int, tier: Tier, noise: LabelledHistory.Noise, seed: UInt64, firstDay: Int64, days: Int) {
        var r = SplitMix64(seed, UInt64(index), 11)
        self.index = index
        self.seed = seed
        switch tier {
        case .enterprise: users = r.int(15...40)
        case .midMarket: users = r.int(5...15)
        case .smb: users = r.int(2...5)
        }
        loginsPerUser = noise == .small ? 0.15 : 0.6 + 0.6 * r.unit()
        weekendFactor = 0.03 + 0.15 * r.unit()
        localOffsetHours = [-8, -5, 0, 1, 2, 9][r.int(0...5)]
        let span = max(1, days - 30)
        noiseDay = firstDay + 28 + Int64(r.int(0...(span - 1)))
        var monday = firstDay + 28 + Int64(r.int(0...max(0, days - 35)))
        while (monday + 3) % 7 != 0 { monday += 1 }
        regionalHoliday = monday
    }

    func events(
        _ a: LabelledHistory.Account, dayIndex: Int, epochDay: Int64, history: LabelledHistory,
        into out: inout [(ms: Int64, seq: Int, line: [UInt8])]
    ) {
        var rng = SplitMix64(seed, UInt64(index), UInt64(dayIndex) &+ 100)
        var seq = 0
        let dayStart = epochDay * Timestamp.millisecondsPerDay
        func emit(_ type: String, _ ms: Int64, user: String? = nil, props: String = "") {
            let line = SampleLine.make(
                id: "\(a.id)-d\(dayIndex)-\(seq)", account: a.id, type: type, ms: ms, user: user,
                props: props)
            out.append((ms, index * 1_000_000 + seq, line))
            seq += 1
        }
        let seats = users + users / 3 + 1
        if dayIndex == 0 {
            let mrr = a.tier == .enterprise ? 24_000 : (a.tier == .midMarket ? 4_000 : 400)
            emit(
                "account_updated", history.startMs,
                props:
                    "\"name\":\"Bench \(index)\",\"tier\":\"\(a.tier.rawValue)\",\"mrr\":\(mrr),\"owner\":\"U0\(1000 + index % 40)\""
            )
            emit("seats_changed", history.startMs + 1000, props: "\"seats\":\(seats)")
        }
        let onset = a.onsetMs ?? .max
        // The day's own noise (a bursty account's day), drawn once per day.
        var dayFactor = 1.0
        if a.noise == .bursty {
            let roll = rng.unit()
            if roll < 0.08 { dayFactor = 3 } else if roll < 0.14 { dayFactor = 0.15 }
        }
        /// The activity level of a local day: weekends, holidays, the account's kind of noise.
        func level(localDay: Int64) -> Double {
            let weekday = Int((localDay + 3) % 7)
            var level = weekday >= 5 ? weekendFactor : 1.0
            if !history.options.sharedOutage, history.sharedHolidayDays.contains(localDay) {
                level = min(level, weekendFactor)
            }
            switch a.noise {
            case .ordinary, .small, .bursty: break
            case .regionalHoliday: if localDay == regionalHoliday { level = min(level, weekendFactor) }
            case .seasonal: if localDay >= noiseDay, localDay < noiseDay + 28 { level *= 0.6 }
            case .onboarding: level *= min(1, 0.1 + 0.9 * Double(dayIndex) / 28)
            case .trackingOutage: if localDay >= noiseDay, localDay < noiseDay + 2 { level = 0 }
            }
            return level * dayFactor
        }
        var activeUsers = users
        for hour in 0..<24 {
            let hourStart = dayStart + Int64(hour) * 3_600_000
            let local = hourStart + localOffsetHours * 3_600_000
            let localHour = (local % Timestamp.millisecondsPerDay) / 3_600_000
            let businessHour = localHour >= 8 && localHour < 18
            var hourLevel = level(localDay: local / Timestamp.millisecondsPerDay) * (businessHour ? 1.0 : 0.04)
            if history.options.sharedOutage, history.sharedHolidayDays.contains(epochDay) { hourLevel = 0 }
            let sinceOnset = hourStart - onset
            if sinceOnset >= 0, let story = a.story {
                let days = Double(sinceOnset) / Double(Timestamp.millisecondsPerDay)
                switch story {
                case .suddenCollapse: hourLevel *= 0.05
                case .goingSilent: hourLevel = 0
                case .gradualDecline: hourLevel *= max(0.2, 1 - 0.8 * days / 21)
                case .championLeft: hourLevel *= 0.67
                case .seatContraction:
                    hourLevel *= 0.6
                    activeUsers = users * 6 / 10
                case .upsell: hourLevel *= 1.8
                case .expansion: activeUsers = users * 3 / 2
                case .paymentFailures, .ticketSpike: break
                }
            }
            let expected = Double(activeUsers) * loginsPerUser * hourLevel / 10
            var logins = Int(expected)
            if rng.chance(expected - Double(logins)) { logins += 1 }
            for _ in 0..<logins {
                let user = "u-\(a.id)-\(rng.int(0...max(0, activeUsers - 1)))"
                let t = hourStart + Int64(rng.int(0...3_599_999))
                emit("login", t, user: user)
                emit("feature_used", t + 60_000, user: user, props: "\"feature\":\"f\(rng.int(0...5))\"")
                emit("session", t + 120_000, user: user, props: "\"minutes\":\(rng.int(5...45))")
            }
        }
        // Business events of the stories, on their day.
        guard let story = a.story, onset != .max else { return }
        let onsetDay = onset / Timestamp.millisecondsPerDay
        switch story {
        case .paymentFailures:
            if epochDay == onsetDay {
                emit(
                    "payment_failed", onset,
                    props:
                        "\"payment_id\":\"P-\(a.id)\",\"invoice_id\":\"I-\(a.id)\",\"amount\":900,\"currency\":\"USD\"")
            }
            if epochDay == onsetDay + 3 {
                emit(
                    "billing_retry_failed", onset + 3 * Timestamp.millisecondsPerDay,
                    props:
                        "\"payment_id\":\"P-\(a.id)\",\"invoice_id\":\"I-\(a.id)\",\"amount\":900,\"currency\":\"USD\"")
            }
        case .ticketSpike:
            for k in 0..<5 {
                let t = onset + Int64(k) * 14 * 3_600_000
                guard t / Timestamp.millisecondsPerDay == epochDay else { continue }
                emit(
                    "ticket_opened", t, user: "u-\(a.id)-0",
                    props: "\"ticket_id\":\"T-\(a.id)-\(k)\",\"priority\":\"high\",\"sentiment\":-0.8")
                if k == 2 {
                    emit(
                        "ticket_escalated", t + 3_600_000, props: "\"ticket_id\":\"T-\(a.id)-\(k)\",\"sentiment\":-0.9")
                }
            }
        case .championLeft:
            if epochDay == onsetDay { emit("champion_left", onset, user: "u-\(a.id)-0") }
        case .seatContraction:
            if epochDay == onsetDay { emit("seats_changed", onset, props: "\"seats\":\(seats * 6 / 10)") }
        case .expansion:
            if epochDay == onsetDay { emit("seats_changed", onset, props: "\"seats\":\(seats * 3 / 2)") }
        default:
            break
        }
    }
}
