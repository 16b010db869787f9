import Contracts

/// The kinds of `account-events` the model knows. Anything else is `.other`: kept as neutral activity.
public enum EventType: UInt8, Sendable, CaseIterable, Hashable {
    case login
    case featureUsed
    case session
    case apiCall
    case npsResponse
    case ticketOpened
    case ticketEscalated
    case ticketClosed
    case paymentFailed
    case paymentSucceeded
    case billingRetryFailed
    case seatsChanged
    case subscriptionCancelled
    case championLeft
    case accountUpdated
    /// Outcome events: the account churned or renewed. They feed the precision report; the score
    /// does not read them, and they are not product activity.
    case accountChurned
    case accountRenewed
    /// An event type the model does not know: counted as activity, otherwise neutral.
    case other

    /// The wire name (`feature_used`); `other` for unknown types (see `AccountEvent.typeName`).
    public var name: String {
        switch self {
        case .login: "login"
        case .featureUsed: "feature_used"
        case .session: "session"
        case .apiCall: "api_call"
        case .npsResponse: "nps_response"
        case .ticketOpened: "ticket_opened"
        case .ticketEscalated: "ticket_escalated"
        case .ticketClosed: "ticket_closed"
        case .paymentFailed: "payment_failed"
        case .paymentSucceeded: "payment_succeeded"
        case .billingRetryFailed: "billing_retry_failed"
        case .seatsChanged: "seats_changed"
        case .subscriptionCancelled: "subscription_cancelled"
        case .championLeft: "champion_left"
        case .accountUpdated: "account_updated"
        case .accountChurned: "account_churned"
        case .accountRenewed: "account_renewed"
        case .other: "other"
        }
    }

    /// The known type with this wire name, or `.other`.
    public init(name: String) {
        self = EventType.allCases.first { $0 != .other && $0.name == name } ?? .other
    }

    /// Whether the event shows someone using the product (it resets the inactivity clock).
    public var isActivity: Bool {
        switch self {
        case .login, .featureUsed, .session, .apiCall, .other: true
        default: false
        }
    }

    /// Events that only touch today's daily buckets (or nothing the score reads).
    var isQuiet: Bool { isActivity || self == .ticketClosed }
}

/// The typed `properties` of an event. Every field is optional; which ones matter depends on the type.
public struct EventProperties: Sendable, Hashable {
    public var feature: String?
    public var minutes: Double?
    public var count: Int?
    public var errors: Int?
    /// NPS answer 0-10.
    public var score: Int?
    public var ticketId: String?
    public var priority: String?
    /// Ticket sentiment, -1 (angry) ... 1 (happy).
    public var sentiment: Double?
    public var amount: Double?
    public var currency: String?
    public var paymentId: String?
    public var invoiceId: String?
    public var seats: Int?
    // account_updated
    public var name: String?
    public var tier: Tier?
    public var mrr: Double?
    public var owner: String?
    public var renewalDate: String?
    public var timezone: String?
    public var url: String?
    /// account_updated: `active` clears a scheduled cancellation.
    public var status: String?
    /// account_updated: `false` clears a scheduled cancellation.
    public var cancellationScheduled: Bool?

    public init(
        feature: String? = nil, minutes: Double? = nil, count: Int? = nil, errors: Int? = nil, score: Int? = nil,
        ticketId: String? = nil, priority: String? = nil, sentiment: Double? = nil, amount: Double? = nil,
        currency: String? = nil, paymentId: String? = nil, invoiceId: String? = nil, seats: Int? = nil,
        name: String? = nil, tier: Tier? = nil, mrr: Double? = nil, owner: String? = nil, renewalDate: String? = nil,
        timezone: String? = nil, url: String? = nil, status: String? = nil, cancellationScheduled: Bool? = nil
    ) {
        self.feature = feature
        self.minutes = minutes
        self.count = count
        self.errors = errors
        self.score = score
        self.ticketId = ticketId
        self.priority = priority
        self.sentiment = sentiment
        self.amount = amount
        self.currency = currency
        self.paymentId = paymentId
        self.invoiceId = invoiceId
        self.seats = seats
        self.name = name
        self.tier = tier
        self.mrr = mrr
        self.owner = owner
        self.renewalDate = renewalDate
        self.timezone = timezone
        self.url = url
        self.status = status
        self.cancellationScheduled = cancellationScheduled
    }
}

/// One validated `account-events` record.
public struct AccountEvent: Sendable, Hashable {
    public var eventId: String
    public var accountId: String
    public var type: EventType
    /// The type as sent; differs from `type.name` only for unknown types.
    public var typeName: String
    public var occurredAt: Timestamp
    public var userId: String?
    public var properties: EventProperties

    public init(
        eventId: String, accountId: String, type: EventType, typeName: String? = nil, occurredAt: Timestamp,
        userId: String? = nil, properties: EventProperties = EventProperties()
    ) {
        self.eventId = eventId
        self.accountId = accountId
        self.type = type
        self.typeName = typeName ?? type.name
        self.occurredAt = occurredAt
        self.userId = userId
        self.properties = properties
    }

    /// The business object behind a business event, for dedup downstream: payment, invoice, ticket or user id.
    public var ref: String? {
        properties.paymentId ?? properties.invoiceId ?? properties.ticketId ?? userId
    }
}

/// Why an event was refused. `reason` is a fixed text a person can act on (it never echoes the input,
/// so it is safe in logs and DLT headers and groups well in summaries); `offset` points into the bytes.
public struct EventRejection: Error, Sendable, Hashable, CustomStringConvertible {
    /// Coarse class of the problem, for metrics and DLT headers.
    public enum Code: String, Sendable, CaseIterable {
        case tooLarge = "too_large"
        case notUTF8 = "not_utf8"
        case invalidJSON = "invalid_json"
        case tooDeep = "too_deep"
        case notAnObject = "not_an_object"
        case missingField = "missing_field"
        case wrongType = "wrong_type"
        case badValue = "bad_value"
        case badTimestamp = "bad_timestamp"
    }

    public var code: Code
    /// e.g. "occurred_at: not RFC 3339", "event_id: missing", "payload over 1 MiB".
    public var reason: String
    /// Byte offset of the problem, where one applies.
    public var offset: Int?

    public init(_ code: Code, _ reason: String, offset: Int? = nil) {
        self.code = code
        self.reason = reason
        self.offset = offset
    }

    public var description: String {
        offset.map { "\(reason) (at byte \($0))" } ?? reason
    }
}
