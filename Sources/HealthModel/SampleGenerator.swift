import Contracts

/// Writes a deterministic sample of `account-events` (the same seed and options give the same bytes):
/// N days for M accounts of three tiers with ordinary noise, quiet weekends, holidays, and a few
/// stories on known accounts (see `Stories`). Used by `fleet-admin sample`, the tests, the demo and
/// the benchmarks.
public struct SampleGenerator: Sendable {
    public struct Options: Sendable, Hashable {
        public var seed: UInt64
        public var accounts: Int
        public var days: Int
        /// First day of the sample (00:00Z).
        public var start: Timestamp
        /// Scales the number of users (and so events) of every account.
        public var activity: Double
        /// Put the stories on the first accounts (needs at least 6 accounts).
        public var stories: Bool
        /// The tier of the account that goes dark (the silent story); nil: drawn like any account's.
        /// `.enterprise` makes it a steady enterprise account, like the collapse's.
        public var silentTier: Tier?

        public init(
            seed: UInt64 = 42, accounts: Int = 100, days: Int = 60,
            start: Timestamp = Timestamp(year: 2026, month: 9, day: 1), activity: Double = 1, stories: Bool = true,
            silentTier: Tier? = nil
        ) {
            self.seed = seed
            self.accounts = max(1, accounts)
            self.days = max(1, days)
            self.start = Timestamp.startOfDay(start.epochDay)
            self.activity = max(0.01, activity)
            self.stories = stories
            self.silentTier = silentTier
        }
    }

    /// Which accounts carry which story. Every account not named here is ordinary.
    public struct Stories: Sendable, Hashable {
        /// A steady enterprise account whose usage stops, payments fail twice and tickets spike.
        public var collapse: String?
        /// A payment fails, then the billing retry of the same invoice fails.
        public var billingRetry: String?
        /// Seats +50% and usage up by half.
        public var expansion: String?
        /// Goes completely dark.
        public var silent: String?
        /// A ticket_opened event published twice, the copy a day later.
        public var republished: String?
        /// The champion leaves, then the subscription is cancelled (usage goes on).
        public var cancellation: String?
        /// Day index (0-based) on which the stories start.
        public var startDay: Int
        /// The event id of the re-published ticket.
        public var republishedEventId: String?

        /// When a story account goes dark (no product activity from then on): the silent account on
        /// the story day, the collapsing one two days later (after a day at half and a day at a tenth).
        public func darkFrom(_ account: String, start: Timestamp) -> Timestamp? {
            if account == silent { return start.adding(days: Int64(startDay)) }
            if account == collapse { return start.adding(days: Int64(startDay + 2)) }
            return nil
        }

        /// All story accounts.
        public var all: [String] {
            [collapse, billingRetry, expansion, silent, republished, cancellation].compactMap { $0 }
        }
    }

    public let options: Options
    public let stories: Stories
    let plans: [AccountPlan]

    public init(options: Options = Options()) {
        self.options = options
        let storyDay = max(options.days - 12, options.days * 2 / 3)
        var plans: [AccountPlan] = []
        for k in 0..<options.accounts {
            var rng = SplitMix64(options.seed, UInt64(k), 0xACC0)
            plans.append(AccountPlan(index: k, rng: &rng, activity: options.activity, sampleDays: options.days))
        }
        var stories = Stories(startDay: storyDay)
        if options.stories, options.accounts >= 6 {
            let order: [Story] = [.collapse, .billingRetry, .expansion, .silent, .republished, .cancellation]
            for (k, story) in order.enumerated() {
                plans[k].story = story
                switch story {
                case .collapse:
                    plans[k].tier = .enterprise
                    plans[k].users = max(40, Int(60 * options.activity))
                    plans[k].activeProbability = 0.92
                    plans[k].weekendFactor = 0.1
                    plans[k].noise = 0.03
                    stories.collapse = plans[k].id
                case .billingRetry: stories.billingRetry = plans[k].id
                case .expansion:
                    plans[k].tier = .midMarket
                    plans[k].users = max(12, plans[k].users)
                    plans[k].activeProbability = 0.85
                    plans[k].noise = 0.03
                    stories.expansion = plans[k].id
                case .silent:
                    if options.silentTier == .enterprise {
                        plans[k].tier = .enterprise
                        plans[k].users = max(40, Int(50 * options.activity))
                        plans[k].activeProbability = 0.9
                        plans[k].weekendFactor = 0.1
                        plans[k].noise = 0.05
                    } else if let tier = options.silentTier {
                        plans[k].tier = tier
                    }
                    plans[k].users = max(10, plans[k].users)
                    stories.silent = plans[k].id
                case .republished:
                    stories.republished = plans[k].id
                    stories.republishedEventId = "\(plans[k].id)-t\(storyDay)"
                case .cancellation: stories.cancellation = plans[k].id
                }
            }
        }
        self.plans = plans
        self.stories = stories
    }

    /// Ids of all accounts, in order.
    public var accountIds: [String] { plans.map(\.id) }

    /// Ids of the accounts without a story.
    public var ordinaryAccounts: [String] { plans.filter { $0.story == nil }.map(\.id) }

    /// Epoch days of the holidays inside the sample (activity drops to a fraction on them).
    public var holidays: [Int64] {
        let first = options.start.epochDay
        return (0..<Int64(options.days)).map { first + $0 }.filter(Self.isHoliday)
    }

    static func isHoliday(_ day: Int64) -> Bool {
        let (_, m, d) = Timestamp.civilDate(epochDay: day)
        switch (m, d) {
        case (1, 1), (5, 25), (7, 4), (9, 7), (10, 12), (11, 26), (12, 25), (12, 31): return true
        default: return false
        }
    }

    /// The JSON lines of one day (index 0 is `options.start`), in event-time order; a re-published
    /// copy comes first on the day after its original.
    public func lines(forDay index: Int) -> [[UInt8]] {
        let epochDay = options.start.epochDay + Int64(index)
        var events: [(ms: Int64, seq: Int, line: [UInt8])] = []
        for plan in plans {
            plan.events(
                dayIndex: index, epochDay: epochDay, seed: options.seed, storyDay: stories.startDay, into: &events)
        }
        events.sort { $0.ms != $1.ms ? $0.ms < $1.ms : $0.seq < $1.seq }
        var out = events.map(\.line)
        if let account = stories.republished, index == stories.startDay + 1,
            let plan = plans.first(where: { $0.id == account })
        {
            out.insert(plan.republishedTicket(storyDay: stories.startDay, start: options.start.epochDay), at: 0)
        }
        return out
    }

    /// All lines of the sample, day by day.
    public func allLines() -> [[UInt8]] {
        (0..<options.days).flatMap { lines(forDay: $0) }
    }
}

enum Story: Sendable, Hashable {
    case collapse, billingRetry, expansion, silent, republished, cancellation
}

/// A small, fast, seedable generator (SplitMix64).
struct SplitMix64 {
    var state: UInt64

    init(_ a: UInt64, _ b: UInt64, _ c: UInt64) {
        state = a &* 0x9E37_79B9_7F4A_7C15 ^ b &* 0xBF58_476D_1CE4_E5B9 ^ c &* 0x94D0_49BB_1331_11EB
        _ = next()
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }

    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.upperBound - range.lowerBound + 1))
    }

    mutating func chance(_ p: Double) -> Bool { unit() < p }
}

struct AccountPlan: Sendable {
    let index: Int
    let id: String
    var tier: Tier
    var users: Int
    var activeProbability: Double
    var weekendFactor: Double
    var noise: Double
    let features: [String]
    let usesAPI: Bool
    let apiCalls: Int
    let ticketRate: Double
    let billingDay: Int
    let npsDay: Int
    let renewalOffset: Int
    var story: Story?

    static let featureNames = [
        "dashboards", "reports", "alerts", "exports", "sso", "api_keys", "workflows", "integrations", "audit_log",
        "forecasts",
    ]

    init(index: Int, rng: inout SplitMix64, activity: Double, sampleDays: Int) {
        self.index = index
        // Four digits below 10,000 (the samples' bytes stay as they were); more digits above, so
        // that account 10,000 is not account 0 again.
        id = index < 10_000 ? "acct-" + String(String(index + 10000).dropFirst()) : "acct-\(index)"
        let roll = rng.unit()
        tier = roll < 0.15 ? .enterprise : (roll < 0.5 ? .midMarket : .smb)
        let baseUsers: Int
        switch tier {
        case .enterprise: baseUsers = rng.int(25...60)
        case .midMarket: baseUsers = rng.int(8...25)
        case .smb: baseUsers = rng.int(2...8)
        }
        users = max(1, Int((Double(baseUsers) * activity).rounded()))
        activeProbability = 0.55 + 0.35 * rng.unit()
        weekendFactor = 0.05 + 0.25 * rng.unit()
        noise = 0.05 + 0.15 * rng.unit()
        var names = Self.featureNames
        var chosen: [String] = []
        let count = rng.int(3...6)
        while chosen.count < count { chosen.append(names.remove(at: rng.int(0...(names.count - 1)))) }
        features = chosen
        usesAPI = rng.chance(0.5)
        apiCalls = rng.int(100...2000)
        ticketRate = tier == .enterprise ? 0.15 : (tier == .midMarket ? 0.07 : 0.03)
        billingDay = rng.int(1...28)
        npsDay = rng.int(0...max(0, sampleDays - 1))
        renewalOffset = sampleDays + 40 + rng.int(0...300)
    }

    var name: String {
        "Account \(id.dropFirst(5)) \(tier == .enterprise ? "Corp" : (tier == .midMarket ? "GmbH" : "LLC"))"
    }

    func republishedTicket(storyDay: Int, start: Int64) -> [UInt8] {
        let ms = (start + Int64(storyDay)) * Timestamp.millisecondsPerDay + 11 * 3_600_000
        return SampleLine.make(
            id: "\(id)-t\(storyDay)", account: id, type: "ticket_opened", ms: ms, user: "u-\(id)-0",
            props: "\"ticket_id\":\"T-\(id)-\(storyDay)\",\"priority\":\"normal\",\"sentiment\":-0.2")
    }

    func events(
        dayIndex: Int, epochDay: Int64, seed: UInt64, storyDay: Int,
        into out: inout [(ms: Int64, seq: Int, line: [UInt8])]
    ) {
        var rng = SplitMix64(seed, UInt64(index), UInt64(dayIndex) &+ 1)
        var seq = 0
        let dayStart = epochDay * Timestamp.millisecondsPerDay
        func emit(_ type: String, _ ms: Int64, user: String? = nil, props: String = "") {
            let line = SampleLine.make(
                id: "\(id)-d\(dayIndex)-\(seq)", account: id, type: type, ms: ms, user: user, props: props)
            out.append((ms, index * 1_000_000 + seq, line))
            seq += 1
        }
        func at(_ hourFrom: Int, _ hourTo: Int) -> Int64 {
            dayStart + Int64(rng.int(hourFrom * 3600...(hourTo * 3600 - 1))) * 1000
        }
        let sinceStory = dayIndex - storyDay
        if dayIndex == 0 {
            let renewal = Timestamp.startOfDay(epochDay + Int64(renewalOffset)).dateString
            let mrr = tier == .enterprise ? 20000 : (tier == .midMarket ? 4000 : 500)
            emit(
                "account_updated", dayStart + 6 * 3_600_000,
                props:
                    "\"name\":\"\(name)\",\"tier\":\"\(tier.rawValue)\",\"mrr\":\(mrr + index % 7 * 100),\"owner\":\"U0\(1000 + index % 40)\",\"renewal_date\":\"\(renewal)\",\"timezone\":\"America/New_York\",\"url\":\"https://crm.example.com/accounts/\(id)\""
            )
            emit("seats_changed", dayStart + 6 * 3_600_000 + 1000, props: "\"seats\":\(users + users / 4 + 1)")
        }
        if story == .silent, sinceStory >= 0 { return }
        // Activity level of the day.
        let weekday = Int((epochDay + 3) % 7)
        var level = 1.0 + noise * (2 * rng.unit() - 1)
        if weekday >= 5 { level *= weekendFactor }
        if SampleGenerator.isHoliday(epochDay) { level *= 0.15 }
        var userCount = users
        if story == .collapse, sinceStory >= 0 { level *= sinceStory == 0 ? 0.5 : (sinceStory == 1 ? 0.1 : 0) }
        if story == .expansion, sinceStory >= 0 { userCount = users + users * 6 / 10 }
        for u in 0..<userCount where rng.chance(min(1, activeProbability * level)) {
            let user = "u-\(id)-\(u)"
            let t = at(8, 18)
            emit("login", t, user: user)
            for k in 0..<rng.int(1...2) {
                emit(
                    "feature_used", t + Int64(60_000 * (k + 1)), user: user,
                    props: "\"feature\":\"\(features[rng.int(0...(features.count - 1))])\"")
            }
            emit("session", t + 300_000, user: user, props: "\"minutes\":\(rng.int(5...60))")
        }
        if story == .expansion, sinceStory >= 2, sinceStory < 4 {
            emit("feature_used", at(9, 17), user: "u-\(id)-0", props: "\"feature\":\"forecasts\"")
            emit("feature_used", at(9, 17), user: "u-\(id)-1", props: "\"feature\":\"workflows\"")
        }
        if usesAPI, weekday < 5 || rng.chance(0.3), level > 0.05 {
            let calls = Int(Double(apiCalls) * level * Double(userCount) / Double(max(users, 1)))
            if calls > 0 {
                emit("api_call", at(0, 23), props: "\"count\":\(calls),\"errors\":\(calls / 200)")
            }
        }
        if weekday < 5, rng.chance(ticketRate * min(level, 1)) {
            emit(
                "ticket_opened", at(9, 17), user: "u-\(id)-0",
                props:
                    "\"ticket_id\":\"T-\(id)-\(dayIndex)\",\"priority\":\"normal\",\"sentiment\":\(Double(rng.int(-3...7)) / 10)"
            )
        }
        if dayIndex == npsDay, story == nil {
            emit("nps_response", at(9, 17), user: "u-\(id)-0", props: "\"score\":\(rng.int(7...10))")
        }
        let (_, _, dom) = Timestamp.civilDate(epochDay: epochDay)
        let failing = (story == .collapse || story == .billingRetry) && sinceStory >= 0
        if Int(dom) == billingDay, !failing {
            emit(
                "payment_succeeded", dayStart + 4 * 3_600_000,
                props:
                    "\"payment_id\":\"P-\(id)-\(dayIndex)\",\"amount\":\(tier == .enterprise ? 20000 : 4000),\"currency\":\"USD\""
            )
        }
        switch story {
        case .collapse:
            if sinceStory == 2 || sinceStory == 5 {
                emit(
                    "payment_failed", dayStart + 5 * 3_600_000,
                    props:
                        "\"payment_id\":\"P-\(id)-\(dayIndex)\",\"invoice_id\":\"I-\(id)-\(storyDay)\",\"amount\":20000,\"currency\":\"USD\""
                )
            }
            if (1...3).contains(sinceStory) {
                for k in 0..<2 {
                    emit(
                        "ticket_opened", dayStart + Int64(10 + 3 * k) * 3_600_000, user: "u-\(id)-\(k)",
                        props: "\"ticket_id\":\"T-\(id)-\(dayIndex)-\(k)\",\"priority\":\"high\",\"sentiment\":-0.7")
                }
            }
            if sinceStory == 3 {
                emit(
                    "ticket_escalated", dayStart + 16 * 3_600_000, user: "u-\(id)-0",
                    props: "\"ticket_id\":\"T-\(id)-\(dayIndex)-0\",\"priority\":\"urgent\",\"sentiment\":-0.9")
            }
        case .billingRetry:
            if sinceStory == 3 {
                emit(
                    "payment_failed", dayStart + 5 * 3_600_000,
                    props:
                        "\"payment_id\":\"P-\(id)-\(storyDay)\",\"invoice_id\":\"I-\(id)-\(storyDay)\",\"amount\":4000,\"currency\":\"USD\""
                )
            }
            if sinceStory == 6 {
                emit(
                    "billing_retry_failed", dayStart + 5 * 3_600_000,
                    props:
                        "\"payment_id\":\"P-\(id)-\(storyDay)\",\"invoice_id\":\"I-\(id)-\(storyDay)\",\"amount\":4000,\"currency\":\"USD\""
                )
            }
        case .expansion:
            let base = users + users / 4 + 1
            if sinceStory == 0 {
                emit("seats_changed", dayStart + 7 * 3_600_000, props: "\"seats\":\(base + base / 4)")
            }
            if sinceStory == 4 {
                emit("seats_changed", dayStart + 7 * 3_600_000, props: "\"seats\":\(base + base / 2)")
            }
        case .republished:
            if sinceStory == 0 {
                let line = republishedTicket(storyDay: storyDay, start: epochDay - Int64(dayIndex))
                out.append((dayStart + 11 * 3_600_000, index * 1_000_000 + 999_999, line))
            }
        case .cancellation:
            if sinceStory == 0 { emit("champion_left", dayStart + 15 * 3_600_000, user: "u-\(id)-0") }
            if sinceStory == 2 {
                emit(
                    "subscription_cancelled", dayStart + 16 * 3_600_000, user: "u-\(id)-1",
                    props: "\"reason\":\"budget\"")
            }
        case .silent, nil:
            break
        }
    }
}

/// One JSON line of the sample. Ids and names are generated ASCII without quotes or backslashes.
enum SampleLine {
    static func make(id: String, account: String, type: String, ms: Int64, user: String?, props: String) -> [UInt8] {
        var s =
            "{\"event_id\":\"\(id)\",\"account_id\":\"\(account)\",\"type\":\"\(type)\",\"occurred_at\":\"\(Timestamp(millisecondsSinceEpoch: ms).rfc3339)\""
        if let user { s += ",\"user_id\":\"\(user)\"" }
        s += ",\"properties\":{\(props)}}"
        return Array(s.utf8)
    }
}
