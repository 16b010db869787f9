import Contracts
import Foundation  // log() for the distinct-user estimate table only

/// Everything the model remembers about one account, in event time.
///
/// Kept small on purpose (it is the changelog value): a fixed ring of daily buckets of compact
/// integers over `horizonDays`, a short list of rare support/commercial events, a bounded feature map,
/// event-id fingerprints for the dedup window, the profile, and what the last emitted record said.
/// `encode()` / `init(decoding:)` give a compact versioned binary form that round-trips exactly.
/// The horizon and dedup window are fixed when the state is created (from `ScoringConfig`); a
/// decoded state keeps its own.
public struct AccountState: Sendable {
    // Stored properties are ordered to leave little padding (the inline size counts per account).
    public internal(set) var accountId: String
    /// The event time the state is valid at: the latest `occurred_at` seen or the time advanced to.
    var clockMs: Int64 = .min
    /// Per day (slot = day mod horizon): logins, distinct users (estimate), feature uses, session
    /// minutes (each saturating at `UInt16.max`), API calls, API errors (saturating at `UInt32.max`).
    /// Its extra words: per day of the dedup window (slot = day mod dedupDays), a 128-bit set of
    /// user-id hashes (two words).
    var ring: DayRing
    /// Days of daily buckets (fixed when the state is created).
    public internal(set) var horizonDays: Int32
    /// Ids of the events applied since the last emitted record (bounded, most recent kept).
    var pending = PendingEventIds()
    /// Days of event ids remembered (the lateness window).
    public internal(set) var dedupDays: Int32
    /// Event-id fingerprints remembered over the dedup window.
    var seen = SeenIds()
    /// Support and commercial events over the horizon (bounded).
    var rare: [RareEvent] = []
    /// Features used (bounded; least recently seen forgotten first).
    var features: [FeatureUse] = []
    /// Known seat counts by day (bounded), oldest first.
    var seatHistory: [SeatPoint] = []
    public internal(set) var profile = AccountProfile()
    var profileAtMs: Int64 = .min
    var cancellationAtMs: Int64 = .min
    /// Records emitted for this account so far: the last record's `ScoreRecord.sequence`.
    var sequence: Int64 = 0
    /// Derived, not encoded: the day's judgement of the daily series (recomputed when absent).
    var cache: SeriesCache?
    /// Derived, not encoded: the silence signal at the last evaluation that decided whether a
    /// record was due (`silenceKey`), or `unknownSilence`. Lets a re-scoring within the same day
    /// skip an idle account whose silence costs what it cost then.
    var lastSilence: UInt64 = AccountState.unknownSilence
    /// First day with any event (the start of this account's history).
    var firstDay: Int32 = .max
    /// Last day with product activity (login, feature use, session, API call or an unknown event type).
    public internal(set) var lastActivityDay: Int32 = .min
    // What the last emitted record said.
    var lastSignalMask: UInt32 = 0
    var lastPositiveMask: UInt32 = 0
    /// Derived, not encoded: bumped when a new feature is remembered.
    var featureGeneration: UInt32 = 0
    var lastScore: Int16 = -1
    var lastZone: UInt8 = 0
    /// When in the UTC day the account's activity comes (for silences judged part-way through a day).
    var hours = HourProfile()
    /// A cancellation is scheduled: set by `subscription_cancelled`, cleared by a later `account_updated`
    /// with `status: active` or `cancellation_scheduled: false`.
    public internal(set) var cancellationScheduled = false

    /// `lastSilence` before any evaluation (and after a decode).
    static let unknownSilence = UInt64.max
    /// `lastSilence` of an evaluation without a silence signal.
    static let noSilence = UInt64.max - 1

    /// How `lastSilence` keeps a silence signal: its points, bit for bit (the only part of it the
    /// score, the zone and the signal masks read).
    @inline(__always) static func silenceKey(_ signal: RawSignal?) -> UInt64 {
        signal.map { $0.points.bitPattern } ?? noSilence
    }

    /// Ids of the events applied since the last emitted record, oldest first.
    var pendingEventIds: [String] { pending.ids }

    /// The distinct-user sets of the dedup window (two words per slot).
    var userBits: [UInt64] { ring.extras }

    static let smallFields = 4
    static let apiFields = 2
    enum Small: Int {
        case logins = 0
        case users, featureUses, minutes
    }

    /// A fresh state for an account.
    public init(accountId: String, horizonDays: Int = 90, dedupDays: Int = 3) {
        self.accountId = accountId
        self.horizonDays = Int32(max(8, horizonDays))
        self.dedupDays = Int32(max(1, dedupDays))
        ring = DayRing(days: self.horizonDays, extraWords: Int(self.dedupDays) * 2)
    }

    /// Whether the state has seen any event.
    public var isEmpty: Bool { clockMs == .min }

    /// The event time the state is valid at (nil before the first event).
    public var validAt: Timestamp? { isEmpty ? nil : Timestamp(millisecondsSinceEpoch: clockMs) }

    /// The current day (the day of `validAt`).
    var clockDay: Int32 { isEmpty ? .min : Int32(clamping: Timestamp(millisecondsSinceEpoch: clockMs).epochDay) }

    /// Current seat count, if known.
    public var seats: Int? { seatHistory.last.map { Int($0.seats) } }

    // MARK: Day ring

    @inline(__always) func slot(_ day: Int32) -> Int {
        let r = Int(day % horizonDays)
        return r < 0 ? r + Int(horizonDays) : r
    }

    @inline(__always) func inRing(_ day: Int32) -> Bool {
        !isEmpty && day <= clockDay && day > clockDay - horizonDays
    }

    /// A daily figure (0 outside the ring).
    func value(_ field: Small, day: Int32) -> Double {
        inRing(day) ? Double(ring.value(field.rawValue, slot: slot(day))) : 0
    }

    func apiValue(_ field: Int, day: Int32) -> Double {
        inRing(day) ? Double(ring.value(Self.smallFields + field, slot: slot(day))) : 0
    }

    /// One field of the day ring located once, for reading it over many days (`value(_:day:)` and
    /// `apiValue(_:day:)` locate it again on each call): its column and the days the ring holds.
    struct DailyField {
        var column: DayRing.Column
        /// The ring's first and last day (first > last for an empty state: no day is in it).
        var first: Int32
        var last: Int32
    }

    /// Field `field` of the ring (`Small` raw values, then `smallFields + ` the API fields).
    @inline(__always) func dailyField(_ field: Int) -> DailyField {
        let column = ring.column(field)
        guard !isEmpty else { return DailyField(column: column, first: .max, last: .min) }
        let today = clockDay
        return DailyField(column: column, first: today - horizonDays + 1, last: today)
    }

    /// A daily figure of a located field (0 outside the ring): the same as `value(_:day:)` or `apiValue(_:day:)`.
    @inline(__always) func value(_ f: DailyField, day: Int32) -> Double {
        day >= f.first && day <= f.last ? Double(ring.value(in: f.column, slot: slot(day))) : 0
    }

    @inline(__always) mutating func add(_ field: Small, _ amount: Int, day: Int32) {
        ring.add(field.rawValue, slot: slot(day), amount)
    }

    @inline(__always) mutating func addAPI(_ field: Int, _ amount: Int, day: Int32) {
        ring.add(Self.smallFields + field, slot: slot(day), amount)
    }

    /// Moves the clock to `ms` (never backwards); clears the buckets of the days that come into the ring.
    mutating func moveClock(to ms: Int64) {
        guard ms > clockMs else { return }
        let old = clockDay
        clockMs = ms
        let new = clockDay
        guard old != .min, new > old else { return }
        let clearDays = Int(min(Int64(new) - Int64(old), Int64(horizonDays)))
        for k in 1...clearDays {
            let s = slot(new - Int32(clearDays) + Int32(k))
            ring.clear(slot: s)
        }
        let userDays = Int(min(Int64(new) - Int64(old), Int64(dedupDays)))
        for k in 1...userDays {
            let s = userSlot(new - Int32(userDays) + Int32(k))
            ring.setExtra(s, 0)
            ring.setExtra(s + 1, 0)
        }
        let dedupStart = new - dedupDays + 1
        if let first = seen.firstDay, first < dedupStart { seen.removeDays(before: dedupStart) }
        let horizonStart = new - horizonDays + 1
        if rare.contains(where: { $0.day < horizonStart }) { rare.removeAll { $0.day < horizonStart } }
    }

    @inline(__always) func userSlot(_ day: Int32) -> Int {
        let r = Int(day % dedupDays)
        return (r < 0 ? r + Int(dedupDays) : r) * 2
    }

    /// Adds a user to the day's distinct-user set and refreshes the day's estimate.
    mutating func addUser(_ hash: UInt64, day: Int32) {
        let s = userSlot(day)
        let bit = Int(hash & 127)
        if bit < 64 {
            ring.setExtra(s, ring.extra(s) | 1 << UInt64(bit))
        } else {
            ring.setExtra(s + 1, ring.extra(s + 1) | 1 << UInt64(bit - 64))
        }
        let zeros = 128 - ring.extra(s).nonzeroBitCount - ring.extra(s + 1).nonzeroBitCount
        ring.set(Small.users.rawValue, slot: slot(day), UInt32(Self.distinctEstimate[zeros]))
    }

    /// Linear-counting estimate of distinct users from the number of zero bits of a 128-bit set:
    /// exact in practice for a handful of users, within a few percent up to a few hundred.
    static let distinctEstimate: [UInt16] = (0...128).map { zeros in
        zeros == 0 ? 621 : UInt16((-128 * Foundation.log(Double(zeros) / 128)).rounded())
    }
}

/// Kinds of rare events kept individually.
enum RareKind: UInt8, Sendable, CaseIterable {
    case ticketOpened = 1
    case ticketEscalated, npsResponse, paymentFailed, paymentSucceeded, billingRetryFailed, championLeft
}

/// A support or commercial event: its day, minute of day, kind and one value
/// (sentiment x100 or `noSentiment` for tickets, the NPS answer, 0 otherwise).
struct RareEvent: Sendable, Hashable {
    var day: Int32
    var minute: Int16
    var kind: RareKind
    var value: Int32

    static let noSentiment: Int32 = 1000
}

/// A feature seen: fingerprint of its name, uses, first and last day.
struct FeatureUse: Sendable, Hashable {
    var fingerprint: UInt32
    var count: UInt32
    var firstDay: Int32
    var lastDay: Int32
}

/// A known seat count from a day on.
struct SeatPoint: Sendable, Hashable {
    var day: Int32
    var seats: Int32
}

extension AccountState: Equatable {
    /// Equality of everything that is encoded (the derived cache is ignored).
    public static func == (a: AccountState, b: AccountState) -> Bool {
        a.accountId == b.accountId && a.horizonDays == b.horizonDays && a.dedupDays == b.dedupDays
            && a.clockMs == b.clockMs && a.firstDay == b.firstDay && a.lastActivityDay == b.lastActivityDay
            && a.ring == b.ring && a.seen == b.seen
            && a.rare == b.rare && a.features == b.features && a.seatHistory == b.seatHistory
            && a.profile == b.profile && a.profileAtMs == b.profileAtMs
            && a.cancellationScheduled == b.cancellationScheduled && a.cancellationAtMs == b.cancellationAtMs
            && a.lastScore == b.lastScore && a.lastZone == b.lastZone && a.lastSignalMask == b.lastSignalMask
            && a.lastPositiveMask == b.lastPositiveMask && a.pending == b.pending && a.sequence == b.sequence
            && a.hours == b.hours
    }
}

/// Stable 64-bit hash of UTF-8 text (FNV-1a with a final mix); the same on every machine and run.
@inline(__always) func stableHash(_ text: String) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for c in text.utf8 {
        h ^= UInt64(c)
        h = h &* 0x0000_0100_0000_01B3
    }
    h ^= h >> 33
    h = h &* 0xff51_afd7_ed55_8ccd
    h ^= h >> 33
    return h
}

@inline(__always) func fingerprint32(_ text: String) -> UInt32 {
    let h = stableHash(text)
    return UInt32(truncatingIfNeeded: h ^ (h >> 32))
}
