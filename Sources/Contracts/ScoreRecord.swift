/// Health zone of an account, from its score. Thresholds are configured in the health model
/// (defaults: healthy >= 70, at_risk 40-69, critical < 40).
public enum Zone: String, Codable, Sendable, CaseIterable, Comparable {
    case healthy
    case atRisk = "at_risk"
    case critical

    /// Worse zones sort higher: healthy < at_risk < critical.
    public var badness: Int {
        switch self {
        case .healthy: 0
        case .atRisk: 1
        case .critical: 2
        }
    }

    public static func < (lhs: Zone, rhs: Zone) -> Bool { lhs.badness < rhs.badness }
}

/// The four signal families a score is built from.
public enum SignalFamily: String, Codable, Sendable, CaseIterable {
    case productUsage = "product_usage"
    case engagement
    case support
    case commercial
}

/// Commercial tier of an account, used for priority and routing.
public enum Tier: String, Codable, Sendable, CaseIterable {
    case enterprise
    case midMarket = "mid_market"
    case smb
}

/// One explained signal behind a score: what was seen, with numbers, and how much it moved the score.
public struct Signal: Codable, Sendable, Hashable {
    /// Stable machine code, e.g. `logins_down`, `payment_failures`, `seats_growth` (see `SignalCode`).
    public var code: String
    public var family: SignalFamily
    /// Human text with the numbers, e.g. "Logins down 62% vs 28-day baseline".
    public var text: String
    /// Points this signal moves the overall score: negative hurts, positive supports expansion.
    public var impact: Double
    /// The observed figure (a ratio such as -0.62 for "down 62%", or a count).
    public var value: Double?
    /// The account's own normal for that figure, where one applies.
    public var baseline: Double?

    public init(
        code: String, family: SignalFamily, text: String, impact: Double, value: Double? = nil, baseline: Double? = nil
    ) {
        self.code = code
        self.family = family
        self.text = text
        self.impact = impact
        self.value = value
        self.baseline = baseline
    }
}

/// Well-known signal codes that downstream rules match on. The model may emit others.
public enum SignalCode {
    public static let loginsDown = "logins_down"
    public static let activeUsersDown = "active_users_down"
    public static let usageDown = "usage_down"
    public static let inactivity = "inactivity"
    public static let apiErrors = "api_errors"
    public static let ticketSpike = "ticket_spike"
    public static let escalations = "escalations"
    public static let negativeSentiment = "negative_sentiment"
    public static let detractorNPS = "nps_detractor"
    public static let paymentFailures = "payment_failures"
    public static let billingRetryFailed = "billing_retry_failed"
    public static let seatsDown = "seats_down"
    public static let renewalSoon = "renewal_soon"
    public static let cancellationScheduled = "cancellation_scheduled"
    public static let championLeft = "champion_left"
    /// Positive signals (expansion and upsell).
    public static let seatsGrowth = "seats_growth"
    public static let usageGrowth = "usage_growth"
    public static let featureAdoption = "feature_adoption"
    public static let promoterNPS = "nps_promoter"
}

/// Per-family component scores, each 0-100.
public struct FamilyScores: Codable, Sendable, Hashable {
    public var productUsage: Double
    public var engagement: Double
    public var support: Double
    public var commercial: Double

    public init(productUsage: Double, engagement: Double, support: Double, commercial: Double) {
        self.productUsage = productUsage
        self.engagement = engagement
        self.support = support
        self.commercial = commercial
    }

    public subscript(family: SignalFamily) -> Double {
        get {
            switch family {
            case .productUsage: productUsage
            case .engagement: engagement
            case .support: support
            case .commercial: commercial
            }
        }
        set {
            switch family {
            case .productUsage: productUsage = newValue
            case .engagement: engagement = newValue
            case .support: support = newValue
            case .commercial: commercial = newValue
            }
        }
    }

    enum CodingKeys: String, CodingKey {
        case productUsage = "product_usage"
        case engagement, support, commercial
    }
}

/// The account's profile as last reported by `account_updated`.
public struct AccountProfile: Codable, Sendable, Hashable {
    public var name: String?
    public var tier: Tier?
    public var mrr: Double?
    /// Slack user id of the account owner, e.g. `U024BE7LH`.
    public var owner: String?
    public var url: String?
    /// `YYYY-MM-DD`.
    public var renewalDate: String?
    /// IANA time zone, e.g. `America/New_York`.
    public var timezone: String?

    public init(
        name: String? = nil, tier: Tier? = nil, mrr: Double? = nil, owner: String? = nil, url: String? = nil,
        renewalDate: String? = nil, timezone: String? = nil
    ) {
        self.name = name
        self.tier = tier
        self.mrr = mrr
        self.owner = owner
        self.url = url
        self.renewalDate = renewalDate
        self.timezone = timezone
    }

    enum CodingKeys: String, CodingKey {
        case name, tier, mrr, owner, url
        case renewalDate = "renewal_date"
        case timezone
    }
}

/// Business events that the evaluator must see at once, whatever the score did.
public enum TriggerType: String, Codable, Sendable, CaseIterable {
    case paymentFailed = "payment_failed"
    case billingRetryFailed = "billing_retry_failed"
    case subscriptionCancelled = "subscription_cancelled"
    case championLeft = "champion_left"
    case seatsChanged = "seats_changed"
}

/// A business event named by a score record as a reason it was emitted.
public struct Trigger: Codable, Sendable, Hashable {
    public var type: TriggerType
    public var eventId: String
    public var occurredAt: Timestamp
    /// The business object behind it, for dedup: a payment or invoice id, a ticket id, a user id.
    public var ref: String?
    public var amount: Double?
    public var currency: String?
    /// For `seats_changed`: seats before and after.
    public var seatsBefore: Int?
    public var seatsAfter: Int?

    public init(
        type: TriggerType, eventId: String, occurredAt: Timestamp, ref: String? = nil, amount: Double? = nil,
        currency: String? = nil, seatsBefore: Int? = nil, seatsAfter: Int? = nil
    ) {
        self.type = type
        self.eventId = eventId
        self.occurredAt = occurredAt
        self.ref = ref
        self.amount = amount
        self.currency = currency
        self.seatsBefore = seatsBefore
        self.seatsAfter = seatsAfter
    }

    enum CodingKeys: String, CodingKey {
        case type
        case eventId = "event_id"
        case occurredAt = "occurred_at"
        case ref, amount, currency
        case seatsBefore = "seats_before"
        case seatsAfter = "seats_after"
    }
}

/// Why a score record was emitted.
public enum EmitReason: String, Codable, Sendable, CaseIterable {
    case first
    case scoreStep = "score_step"
    case zoneChange = "zone_change"
    case signalsChanged = "signals_changed"
    case businessEvent = "business_event"
}

/// A `health-scores` record (key = account_id): the contract between ingest-scorer and evaluator.
public struct ScoreRecord: Codable, Sendable, Hashable {
    /// Version of this contract.
    public var schema: Int
    public var accountId: String
    /// The event time the score is valid at.
    public var validAt: Timestamp
    /// 0-100.
    public var score: Int
    public var previousScore: Int?
    /// `score - previousScore`, 0 for the first record.
    public var delta: Int
    public var zone: Zone
    public var previousZone: Zone?
    public var components: FamilyScores
    /// Signals that hurt the score, ranked by impact (most negative first).
    public var signals: [Signal]
    /// Signals that support expansion or upsell, ranked by impact (most positive first).
    public var positiveSignals: [Signal]
    public var profile: AccountProfile
    /// Business events in this change that the evaluator must see at once.
    public var triggers: [Trigger]
    /// Ids of the events that moved the score since the previous record (bounded).
    public var eventIds: [String]
    public var reasons: [EmitReason]
    /// A cancellation is scheduled: downstream inhibits usage alerts.
    public var cancellationScheduled: Bool
    /// The scorer's sequence number of this record for its account (1, 2, 3, ...; kept in the
    /// scorer's state, so a record emitted again after a crash carries the same number). With
    /// `validAt`, `eventIds` and the triggers' event ids it is the record's identity (see
    /// `identity`). Absent in records written before it existed (and in hand-made ones).
    public var sequence: Int?

    public static let currentSchema = 1

    public init(
        schema: Int = ScoreRecord.currentSchema, accountId: String, validAt: Timestamp, score: Int, previousScore: Int?,
        delta: Int, zone: Zone, previousZone: Zone?, components: FamilyScores, signals: [Signal],
        positiveSignals: [Signal], profile: AccountProfile, triggers: [Trigger], eventIds: [String],
        reasons: [EmitReason], cancellationScheduled: Bool, sequence: Int? = nil
    ) {
        self.schema = schema
        self.accountId = accountId
        self.validAt = validAt
        self.score = score
        self.previousScore = previousScore
        self.delta = delta
        self.zone = zone
        self.previousZone = previousZone
        self.components = components
        self.signals = signals
        self.positiveSignals = positiveSignals
        self.profile = profile
        self.triggers = triggers
        self.eventIds = eventIds
        self.reasons = reasons
        self.cancellationScheduled = cancellationScheduled
        self.sequence = sequence
    }

    enum CodingKeys: String, CodingKey {
        case schema
        case accountId = "account_id"
        case validAt = "valid_at"
        case score
        case previousScore = "previous_score"
        case delta
        case zone
        case previousZone = "previous_zone"
        case components, signals
        case positiveSignals = "positive_signals"
        case profile, triggers
        case eventIds = "event_ids"
        case reasons
        case cancellationScheduled = "cancellation_scheduled"
        case sequence
    }
}

extension ScoreRecord {
    /// What makes this record itself: a 64-bit FNV-1a over the account, the scorer's `sequence`
    /// (when present), `validAt`, the score, `eventIds` and each trigger's type, event id and ref.
    ///
    /// A record emitted again (a scorer that crashed before committing re-emits what it had
    /// emitted, byte for byte) has the same identity; two records that differ in what produced them
    /// (two invoices' billing retries failing in the same second) do not, even with the same
    /// `validAt` and score. Records written before `sequence` existed fall back to the other fields:
    /// two of them are the same record only when their time, score, event ids and triggers all match.
    public var identity: UInt64 {
        var h = RecordIdentityHash()
        h.add(accountId)
        h.add(Int64(sequence ?? -1))
        h.add(validAt.millisecondsSinceEpoch)
        h.add(Int64(score))
        h.add(Int64(eventIds.count))
        for id in eventIds { h.add(id) }
        h.add(Int64(triggers.count))
        for t in triggers {
            h.add(t.type.rawValue)
            h.add(t.eventId)
            h.add(t.ref ?? "")
        }
        return h.value
    }
}

/// FNV-1a 64 over length-prefixed fields (so `["ab", "c"]` and `["a", "bc"]` differ).
struct RecordIdentityHash {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    private mutating func byte(_ b: UInt8) {
        value ^= UInt64(b)
        value = value &* 0x0000_0100_0000_01b3
    }

    mutating func add(_ v: Int64) {
        let u = UInt64(bitPattern: v)
        for k in 0..<8 { byte(UInt8(truncatingIfNeeded: u >> (8 * UInt64(k)))) }
    }

    mutating func add(_ s: String) {
        add(Int64(s.utf8.count))
        for b in s.utf8 { byte(b) }
    }
}
