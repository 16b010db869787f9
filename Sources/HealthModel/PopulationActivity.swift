import Contracts

/// The whole population's product activity per UTC day, and the days when most accounts were
/// quiet together (a public holiday, an outage of the event pipeline that feeds the fleet): a dip
/// shared by most accounts is not one account's risk.
///
/// Fed with every activity event (its day, and whether it is its account's first activity of that
/// day); a day is judged once it is sealed (`seal(through:)`: no more of its events are counted).
/// A sealed day is a shared dip when its activity events are at most `dipBelow` of its normal (the
/// median of the same weekday over the four weeks before it, at least two of them known) and that
/// normal has at least `minAccounts` active accounts (a handful of accounts is not a population).
/// The scorer then expects of every account only that share of its own normal on that day, leaves
/// the day out of its baseline, and does not count it as a day of inactivity.
///
/// Pure and deterministic: the same calls in the same order give the same dips. A few hundred bytes
/// for the whole population (not per account): the totals of the last five weeks and the dips of
/// the last `keepDipDays`.
public struct PopulationActivity: Sendable, Hashable {
    /// Activity of one day.
    public struct DayTotal: Sendable, Hashable {
        /// Activity events.
        public var events: Int64 = 0
        /// Accounts active that day.
        public var accounts: Int64 = 0

        public init(events: Int64 = 0, accounts: Int64 = 0) {
            self.events = events
            self.accounts = accounts
        }
    }

    /// Normals need this many active accounts for a dip to count (0: never a dip).
    public let minAccounts: Int
    /// A day with at most this share of its normal activity is a shared dip.
    public let dipBelow: Double
    /// Totals by epoch day (the last `keepTotalDays` before the sealed day, and the open days).
    public private(set) var totals: [Int64: DayTotal] = [:]
    /// The last sealed day (.min before the first seal).
    public private(set) var sealedThrough: Int64 = .min
    /// Sealed days that are shared dips: their activity as a share of normal.
    public private(set) var dips: [Int64: Double] = [:]
    /// The first day with activity (.max before any).
    public private(set) var firstDay: Int64 = .max
    /// Activity events by epoch day and UTC hour (the same days as `totals`), for the share of
    /// today that has passed: 24 counters a day for the whole population.
    public private(set) var hourly: [Int64: [Int64]] = [:]
    /// One answer of `shareSoFar`, kept by `memoizeShareSoFar` until the next change (derived: not
    /// part of equality).
    private var shareMemo: ShareMemo?

    private struct ShareMemo: Sendable {
        let day: Int64
        let hour: Int
        let share: Double?
    }

    static let keepTotalDays: Int64 = 35
    static let keepDipDays: Int64 = 400

    public init(minAccounts: Int = 50, dipBelow: Double = 0.8) {
        self.minAccounts = minAccounts
        self.dipBelow = dipBelow
    }

    /// The population of a scoring configuration (`population.min_accounts`, `population.dip_below`),
    /// nil when it is off.
    public init?(config: ScoringConfig) {
        guard config.populationMinAccounts > 0 else { return nil }
        self.init(minAccounts: config.populationMinAccounts, dipBelow: config.populationDipBelow)
    }

    /// Counts activity of `day` (ignored once the day is sealed: a sealed day never changes).
    /// `hour` (0-23, UTC; nil: not known) also counts the events in that hour of the day, for
    /// `shareSoFar(day:beforeHour:)`.
    public mutating func record(day: Int64, hour: Int? = nil, events: Int64 = 1, newActiveAccounts: Int64 = 0) {
        guard day > sealedThrough else { return }
        shareMemo = nil
        if day < firstDay { firstDay = day }
        totals[day, default: DayTotal()].events += events
        // Most events are not their account's first of the day: one dictionary access for them.
        if newActiveAccounts != 0 { totals[day, default: DayTotal()].accounts += newActiveAccounts }
        if let hour, (0..<24).contains(hour) {
            hourly[day, default: [Int64](repeating: 0, count: 24)][hour] += events
        }
    }

    /// Counts `event`, just applied to its account, when it is an activity: in its day and hour, and
    /// as its account's first activity of the day when `apply` moved the account's last active day
    /// (from `activeBefore`) to the event's day.
    public mutating func count(applied event: AccountEvent, activeBefore: Int32, activeAfter: Int32) {
        guard event.type.isActivity else { return }
        let day = event.occurredAt.epochDay
        let first = activeAfter != activeBefore && Int64(activeAfter) == day
        let hour = Int((event.occurredAt.millisecondsSinceEpoch - day * Timestamp.millisecondsPerDay) / 3_600_000)
        record(day: day, hour: hour, events: 1, newActiveAccounts: first ? 1 : 0)
    }

    /// The population's activity in the hours of `day` before `hour` as a share of its normal for
    /// those hours (the median of the same weekday's same hours over the four weeks before, at
    /// least two of them known, with at least `minAccounts` active accounts), when it is at most
    /// `dipBelow`: the part of today that has passed is a dip most accounts share (the first
    /// hours of a public holiday, before the day can be sealed). Nil otherwise. A sealed day is
    /// judged whole: its `dip(on:)` (a replay seals a day at the first event of the next, before
    /// the accounts' last re-scoring of it).
    public func shareSoFar(day: Int64, beforeHour hour: Int) -> Double? {
        if let memo = shareMemo, memo.day == day, memo.hour == hour { return memo.share }
        if day <= sealedThrough { return dips[day] }
        guard minAccounts > 0, hour > 0, hour <= 24 else { return nil }
        @inline(__always) func sum(_ d: Int64) -> Int64 {
            guard let hours = hourly[d] else { return 0 }
            var total: Int64 = 0
            for h in 0..<hour { total &+= hours[h] }
            return total
        }
        var events = MedianOfFour()
        var accounts = MedianOfFour()
        for week in 1...4 {
            let back = day - Int64(7 * week)
            guard back >= firstDay else { continue }
            events.append(sum(back))
            accounts.append(totals[back]?.accounts ?? 0)
        }
        guard events.count >= 2 else { return nil }
        let normal = events.median
        guard normal > 0, accounts.median >= Double(minAccounts) else { return nil }
        let share = Double(sum(day)) / normal
        return share <= dipBelow ? share : nil
    }

    /// Keeps `shareSoFar(day:beforeHour:)` of this day and hour until the population next changes,
    /// for a re-scoring that asks it once per idle account (every account at one hour asks the same).
    public mutating func memoizeShareSoFar(day: Int64, beforeHour hour: Int) {
        shareMemo = ShareMemo(day: day, hour: hour, share: shareSoFar(day: day, beforeHour: hour))
    }

    /// Takes the sums of `parts`' counts as this population's (each part one scorer partition's
    /// accounts: totals, hours and first day), then seals through `day` (the last day every part has
    /// sealed): days newly sealed are judged on the sums, dips judged before are kept, as a sealed
    /// day never changes. The parts' own dips are ignored (a part counts; it judges nothing).
    public mutating func takeCounts(of parts: [PopulationActivity], sealThrough day: Int64) {
        shareMemo = nil
        var first = Int64.max
        var low = Int64.max
        var high = Int64.min
        for part in parts {
            first = min(first, part.firstDay)
            for d in part.totals.keys {
                low = min(low, d)
                high = max(high, d)
            }
            for d in part.hourly.keys {
                low = min(low, d)
                high = max(high, d)
            }
        }
        if low > high {
            totals = [:]
            hourly = [:]
        } else if high - low < Self.denseSumDays {
            sumDensely(parts, from: low, through: high)
        } else {
            sumSparsely(parts)
        }
        firstDay = min(firstDay, first)
        if day != .min { seal(through: day) }
    }

    /// The widest span of days summed in arrays by `takeCounts` (the parts hold the last five weeks
    /// and the open days; a part read from the topic may hold days far apart: summed by dictionary).
    static let denseSumDays: Int64 = 64

    /// The sums of `parts`' days in `low...high`, added up in arrays indexed by day: every part is
    /// summed once a re-scoring time per partition, and adding into dictionaries (a hash per day
    /// and part, an array copied per day) cost more than the scoring of the hour's accounts.
    private mutating func sumDensely(_ parts: [PopulationActivity], from low: Int64, through high: Int64) {
        let days = Int(high - low) + 1
        var sums = [DayTotal?](repeating: nil, count: days)
        var hours = [Int64](repeating: 0, count: days * 24)
        var hasHours = [Bool](repeating: false, count: days)
        for part in parts {
            for (d, t) in part.totals {
                let i = Int(d - low)
                var sum = sums[i] ?? DayTotal()
                sum.events &+= t.events
                sum.accounts &+= t.accounts
                sums[i] = sum
            }
            for (d, h) in part.hourly {
                let i = Int(d - low)
                hasHours[i] = true
                for k in 0..<min(24, h.count) { hours[i * 24 + k] &+= h[k] }
            }
        }
        var newTotals: [Int64: DayTotal] = Dictionary(minimumCapacity: days)
        var newHourly: [Int64: [Int64]] = Dictionary(minimumCapacity: days)
        for i in 0..<days {
            let d = low + Int64(i)
            if let sum = sums[i] { newTotals[d] = sum }
            if hasHours[i] { newHourly[d] = Array(hours[(i * 24)..<(i * 24 + 24)]) }
        }
        totals = newTotals
        hourly = newHourly
    }

    /// The sums of `parts`' days, added up by dictionary.
    private mutating func sumSparsely(_ parts: [PopulationActivity]) {
        var sums: [Int64: DayTotal] = [:]
        var hours: [Int64: [Int64]] = [:]
        for part in parts {
            for (d, t) in part.totals {
                sums[d, default: DayTotal()].events &+= t.events
                sums[d, default: DayTotal()].accounts &+= t.accounts
            }
            for (d, h) in part.hourly {
                guard hours[d] != nil else {
                    hours[d] = h
                    continue
                }
                for i in 0..<min(24, h.count) { hours[d]![i] &+= h[i] }  // in place
            }
        }
        totals = sums
        hourly = hours
    }

    /// Seals every day up to `day`: judges each as a shared dip or not, once.
    public mutating func seal(through day: Int64) {
        guard day > sealedThrough else { return }
        shareMemo = nil
        guard firstDay != .max else {
            sealedThrough = day
            return
        }
        let first = max(sealedThrough == .min ? firstDay : sealedThrough + 1, firstDay, day - Self.keepTotalDays)
        if first <= day {
            for d in first...day { judge(d) }
        }
        sealedThrough = day
        let oldest = day - Self.keepTotalDays
        if totals.keys.contains(where: { $0 < oldest }) { totals = totals.filter { $0.key >= oldest } }
        if hourly.keys.contains(where: { $0 < oldest }) { hourly = hourly.filter { $0.key >= oldest } }
        let oldestDip = day - Self.keepDipDays
        if dips.keys.contains(where: { $0 < oldestDip }) { dips = dips.filter { $0.key >= oldestDip } }
    }

    private mutating func judge(_ d: Int64) {
        var events = MedianOfFour()
        var accounts = MedianOfFour()
        for week in 1...4 {
            // A day since the first activity seen without any activity is a day of none.
            let back = d - Int64(7 * week)
            guard back >= firstDay else { continue }
            let t = totals[back] ?? DayTotal()
            events.append(t.events)
            accounts.append(t.accounts)
        }
        guard events.count >= 2 else { return }
        let normalEvents = events.median
        let normalAccounts = accounts.median
        guard minAccounts > 0, normalAccounts >= Double(minAccounts), normalEvents > 0 else { return }
        let share = Double(totals[d]?.events ?? 0) / normalEvents
        if share <= dipBelow { dips[d] = share }
    }

    /// The share of its normal activity the population had on `day`, when the day is a sealed
    /// shared dip; nil otherwise.
    public func dip(on day: Int64) -> Double? { dips[day] }

    /// A population of these counts as it was encoded (`PopulationPart`): not judged again.
    init(counts totals: [Int64: DayTotal], hourly: [Int64: [Int64]], firstDay: Int64, sealedThrough: Int64) {
        self.init(minAccounts: 0, dipBelow: 0)
        self.totals = totals
        self.hourly = hourly
        self.firstDay = firstDay
        self.sealedThrough = sealedThrough
    }

    /// These dips with `holidays` (epoch days) as days of no expected activity at all: the quiet days
    /// of an account with a holiday calendar.
    func adding(holidays: [Int64]) -> PopulationActivity {
        var p = self
        p.shareMemo = nil
        for day in holidays { p.dips[day] = 0 }
        return p
    }

    /// Whether any day from `from` through `to` is a shared dip.
    func hasDip(from: Int64, to: Int64) -> Bool {
        guard !dips.isEmpty, from <= to else { return false }
        if to - from < Int64(dips.count) {
            for d in from...to where dips[d] != nil { return true }
            return false
        }
        return dips.keys.contains { $0 >= from && $0 <= to }
    }
}

extension PopulationActivity {
    /// Equal populations: the same counts, seals and dips (a kept `shareSoFar` answer is derived).
    public static func == (a: PopulationActivity, b: PopulationActivity) -> Bool {
        a.minAccounts == b.minAccounts && a.dipBelow == b.dipBelow && a.totals == b.totals
            && a.sealedThrough == b.sealedThrough && a.dips == b.dips && a.firstDay == b.firstDay
            && a.hourly == b.hourly
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(minAccounts)
        hasher.combine(dipBelow)
        hasher.combine(totals)
        hasher.combine(sealedThrough)
        hasher.combine(dips)
        hasher.combine(firstDay)
        hasher.combine(hourly)
    }
}

/// The median of up to four values (the four weeks of a normal), without an allocation: the
/// middle value, or the mean of the two middle values of an even count.
struct MedianOfFour {
    private var a: Int64 = 0, b: Int64 = 0, c: Int64 = 0, d: Int64 = 0
    private(set) var count = 0

    /// Adds a value (a fifth and later are ignored: a normal has at most four weeks).
    @inline(__always) mutating func append(_ x: Int64) {
        switch count {
        case 0: a = x
        case 1: b = x
        case 2: c = x
        case 3: d = x
        default: return
        }
        count += 1
    }

    /// The median (0 of no values).
    var median: Double {
        @inline(__always) func order(_ x: inout Int64, _ y: inout Int64) { if x > y { swap(&x, &y) } }
        var (a, b, c, d) = (a, b, c, d)
        switch count {
        case 0: return 0
        case 1: return Double(a)
        case 2: return (Double(min(a, b)) + Double(max(a, b))) / 2
        case 3:
            order(&a, &b)
            order(&b, &c)
            order(&a, &b)
            return Double(b)
        default:
            order(&a, &b)
            order(&c, &d)
            order(&a, &c)
            order(&b, &d)
            order(&b, &c)
            return (Double(b) + Double(c)) / 2
        }
    }
}
