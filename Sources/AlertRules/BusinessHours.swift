import Contracts

/// The working hours of a destination: on each of `days`, from `fromMinute` to `toMinute` local
/// time in an IANA zone (daylight-saving aware). Response SLAs are counted in them.
///
/// Pure: `due(from:adding:)` walks local days from the start, adding each day's working time,
/// without reading a clock. Bounded: it gives up (nil) after `maxDays` local days, and times
/// outside ±2^50 ms of 1970 are clamped first (and a due time past them is nil), so hostile values
/// never trap.
public struct BusinessHours: Sendable, Equatable {
    let time: LocalTime
    /// 0 = Monday ... 6 = Sunday.
    public let days: Set<Int>
    /// Minutes after local midnight: `fromMinute` < `toMinute` <= 1440.
    public let fromMinute: Int
    public let toMinute: Int

    /// How many local days `due(from:adding:)` walks at most (about 10 years).
    public static let maxDays: Int64 = 3_660

    /// Mon-Fri 09:00-17:00 in `timeZone` (UTC when it is not a known zone).
    public static func standard(timeZone: String = "UTC") -> BusinessHours {
        BusinessHours(timeZone: timeZone, days: Set(0...4), fromMinute: 540, toMinute: 1020)
            ?? BusinessHours(timeZone: "UTC", days: Set(0...4), fromMinute: 540, toMinute: 1020)!
    }

    /// nil if `timeZone` is unknown, `days` is empty or holds a day outside 0...6, or the window is
    /// empty or outside 00:00-24:00.
    public init?(timeZone: String, days: Set<Int>, fromMinute: Int, toMinute: Int) {
        guard let time = LocalTime(identifier: timeZone), !days.isEmpty, days.allSatisfy({ (0...6).contains($0) }),
            fromMinute >= 0, toMinute <= 1440, fromMinute < toMinute
        else { return nil }
        self.time = time
        self.days = days
        self.fromMinute = fromMinute
        self.toMinute = toMinute
    }

    public var timeZone: String { time.identifier }

    /// The instant `businessMs` of working time after `start` (ms since the epoch): the clock runs
    /// only inside the working hours, so an alert raised on Friday evening starts counting on
    /// Monday morning. `businessMs` <= 0 is due at `start`. nil when the walk passes `maxDays`.
    public func due(from start: Int64, adding businessMs: Int64) -> Int64? {
        let limit: Int64 = 1 << 50
        let start = min(max(start, -limit), limit)
        guard businessMs > 0 else { return start }
        var remaining = min(businessMs, limit)
        var t = start
        var day = time.dayAndMinute(start).day
        for _ in 0..<Self.maxDays {
            if days.contains(LocalTime.weekday(ofDay: day)) {
                let open = time.instant(day: day, minute: fromMinute)
                let close = time.instant(day: day, minute: toMinute)
                let from = max(t, open)
                if from < close {
                    let available = close - from
                    if remaining <= available { return from + remaining <= limit ? from + remaining : nil }
                    remaining -= available
                }
            }
            day += 1
            t = max(t, time.instant(day: day, minute: 0))
            guard t < limit else { return nil }
        }
        return nil
    }
}

/// One step of an escalation chain: the destinations an escalation goes to, and who it mentions.
public struct EscalationStep: Sendable, Equatable {
    public var destinations: [String]
    /// Slack user ids (or `@here`-free handles) named in the escalation.
    public var mentions: [String]
    /// `direct_message_owner_via`: also a direct message to the account's owner, sent by the Slack
    /// app of this destination (its `chat.postMessage` to the owner's user id).
    public var directMessageOwnerVia: String?

    public init(destinations: [String], mentions: [String] = [], directMessageOwnerVia: String? = nil) {
        self.destinations = destinations
        self.mentions = mentions
        self.directMessageOwnerVia = directMessageOwnerVia
    }
}

/// The response SLA of one severity: an episode's alert not acknowledged or taken within
/// `respondWithinMs` of working time raises an escalation to the chain's next step, again after
/// each further `respondWithinMs`, at most `maxEscalations` times (past the chain's end, its last
/// step again).
public struct ResponseSLA: Sendable, Equatable {
    public var respondWithinMs: Int64
    public var steps: [EscalationStep]
    public var maxEscalations: Int

    /// The default response time per severity, in working hours: critical 4, high 24, medium 48,
    /// low none.
    public static func defaultRespondWithinMs(_ severity: Severity) -> Int64? {
        switch severity {
        case .critical: 4 * 3_600_000
        case .high: 24 * 3_600_000
        case .medium: 48 * 3_600_000
        case .low: nil
        }
    }

    /// The most escalations an SLA may allow.
    public static let escalationCap = 20

    public init(respondWithinMs: Int64, steps: [EscalationStep], maxEscalations: Int? = nil) {
        self.respondWithinMs = respondWithinMs
        self.steps = steps
        self.maxEscalations = min(max(maxEscalations ?? steps.count, 0), Self.escalationCap)
    }

    /// The step of the escalation numbered `index` (0-based): past the chain's end, the last one.
    public func step(_ index: Int) -> EscalationStep? {
        guard !steps.isEmpty, index >= 0 else { return nil }
        return steps[min(index, steps.count - 1)]
    }
}
