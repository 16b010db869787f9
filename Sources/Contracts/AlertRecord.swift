/// Kind of alert the evaluator raises.
public enum AlertType: String, Codable, Sendable, CaseIterable {
    case customerAtRisk = "customer_at_risk"
    case healthScoreDrop = "health_score_drop"
    case billingRetryFailed = "billing_retry_failed"
    case expansionSignal = "expansion_signal"
    case upsellOpportunity = "upsell_opportunity"
    case recovered
    /// Several non-urgent alerts gathered into one message for a destination.
    case digest
}

/// How bad an alert is. Ordered: low < medium < high < critical.
public enum Severity: String, Codable, Sendable, CaseIterable, Comparable {
    case low, medium, high, critical

    public var rank: Int {
        switch self {
        case .low: 0
        case .medium: 1
        case .high: 2
        case .critical: 3
        }
    }

    public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }
}

/// Priority P1 (most urgent) to P9, from severity x tier.
public struct Priority: RawRepresentable, Codable, Sendable, Hashable, Comparable, CustomStringConvertible {
    /// 1...9.
    public let level: Int

    public init?(level: Int) {
        guard (1...9).contains(level) else { return nil }
        self.level = level
    }

    public init?(rawValue: String) {
        guard rawValue.count == 2, rawValue.first == "P", let d = Int(rawValue.dropFirst()) else { return nil }
        self.init(level: d)
    }

    public var rawValue: String { "P\(level)" }
    public var description: String { rawValue }

    /// P1 sorts first.
    public static func < (lhs: Priority, rhs: Priority) -> Bool { lhs.level < rhs.level }
}

/// One line of a digest: an account and what changed.
public struct DigestItem: Codable, Sendable, Hashable {
    public var alertId: String
    public var type: AlertType
    public var severity: Severity
    public var accountId: String
    public var accountName: String?
    public var score: Int
    public var delta: Int
    public var zone: Zone
    /// The top signal's text, e.g. "Logins down 62% vs 28-day baseline".
    public var headline: String
    public var url: String?
    public var at: Timestamp
    /// For a `health_score_drop` item: the drop over its rule's window (absent in older records).
    public var drop: ScoreDrop?

    public init(
        alertId: String, type: AlertType, severity: Severity, accountId: String, accountName: String?, score: Int,
        delta: Int, zone: Zone, headline: String, url: String?, at: Timestamp, drop: ScoreDrop? = nil
    ) {
        self.alertId = alertId
        self.type = type
        self.severity = severity
        self.accountId = accountId
        self.accountName = accountName
        self.score = score
        self.delta = delta
        self.zone = zone
        self.headline = headline
        self.url = url
        self.at = at
        self.drop = drop
    }

    enum CodingKeys: String, CodingKey {
        case alertId = "alert_id"
        case type, severity
        case accountId = "account_id"
        case accountName = "account_name"
        case score, delta, zone, headline, url, at, drop
    }
}

/// An `alerts` record (key = destination): the contract between evaluator and dispatcher.
///
/// One record per destination. `alertId` is deterministic (same account, type and episode give the
/// same id); the dispatcher's delivery log is keyed by `alertId` + `destination`.
public struct AlertRecord: Codable, Sendable, Hashable {
    public var schema: Int
    public var alertId: String
    public var type: AlertType
    public var severity: Severity
    public var priority: Priority
    /// Destination name (a Slack webhook or generic webhook configured in the dispatcher). Never a URL.
    public var destination: String
    public var accountId: String
    /// Event time of the score record that raised the alert.
    public var raisedAt: Timestamp
    /// Deliver no earlier than this (quiet hours, digests); nil means at once.
    public var notBefore: Timestamp?
    /// The score record's facts: score, delta, zone, components, signals, profile.
    public var score: ScoreRecord?
    /// The business event behind the alert, if any (a failed billing retry, seats changed).
    public var trigger: Trigger?
    /// Slack user id of the owner to mention.
    public var mention: String?
    public var suggestedAction: String?
    public var playbookURL: String?
    /// Name of the rule that raised it, for the audit trail.
    public var rule: String?
    /// For `digest` alerts: the accounts and what changed.
    public var digestItems: [DigestItem]?
    /// For `digest` alerts: the period covered, e.g. "daily digest for 2026-11-20".
    public var digestTitle: String?
    /// For `health_score_drop` alerts: the drop over the rule's window ("-26 in 7 days"), which
    /// `score.delta` (the last step only) does not show. Absent in records written before it existed.
    public var drop: ScoreDrop?
    /// For an escalation (issue 24): the episode's alert was not acknowledged or taken within its
    /// response SLA. Absent on every other alert.
    public var escalation: AlertEscalation?
    /// The id of the alert whose message opened this alert's episode at this destination: a
    /// follow-up (a repeat, an escalation, the recovery) is posted as a reply in that message's
    /// thread where the destination can (a Slack app channel). Nil on the opening alert itself, on
    /// trigger alerts and in records written before it existed.
    public var thread: String?
    /// Set on a record that edits the message of alert `thread` instead of posting a new one (an
    /// acknowledgement, a take, a snooze, a resolution, a recovery). Nil on every alert.
    public var update: MessageUpdate?
    /// For a direct message (an escalation's `direct_message_owner_via`): the Slack user id it is
    /// addressed to; a Slack app destination posts it to that user instead of its channel.
    public var directTo: String?
    /// Set on an alert the rules raised and people's actions hold back (`snoozed`, `resolved`,
    /// `silenced`): written so the dispatcher records it in the delivery log, never sent.
    public var suppressed: String?

    public static let currentSchema = 1

    public init(
        schema: Int = AlertRecord.currentSchema, alertId: String, type: AlertType, severity: Severity,
        priority: Priority, destination: String, accountId: String, raisedAt: Timestamp, notBefore: Timestamp? = nil,
        score: ScoreRecord? = nil, trigger: Trigger? = nil, mention: String? = nil, suggestedAction: String? = nil,
        playbookURL: String? = nil, rule: String? = nil, digestItems: [DigestItem]? = nil, digestTitle: String? = nil,
        drop: ScoreDrop? = nil, escalation: AlertEscalation? = nil, thread: String? = nil, update: MessageUpdate? = nil
    ) {
        self.escalation = escalation
        self.thread = thread
        self.update = update
        self.schema = schema
        self.alertId = alertId
        self.type = type
        self.severity = severity
        self.priority = priority
        self.destination = destination
        self.accountId = accountId
        self.raisedAt = raisedAt
        self.notBefore = notBefore
        self.score = score
        self.trigger = trigger
        self.mention = mention
        self.suggestedAction = suggestedAction
        self.playbookURL = playbookURL
        self.rule = rule
        self.digestItems = digestItems
        self.digestTitle = digestTitle
        self.drop = drop
    }

    /// Key of this alert's entry in the delivery log (`alerts-delivered`).
    public var deliveryKey: String { "\(alertId)|\(destination)" }

    /// The `type` of this record's delivery-log entries: the alert type, or `message_update` for
    /// an update record, so that nothing counting alerts from the log counts an edit.
    public var deliveryLogType: String { update == nil ? type.rawValue : Self.messageUpdateLogType }

    /// The delivery-log `type` of an edit of a posted message.
    public static let messageUpdateLogType = "message_update"

    enum CodingKeys: String, CodingKey {
        case schema
        case alertId = "alert_id"
        case type, severity, priority, destination
        case accountId = "account_id"
        case raisedAt = "raised_at"
        case notBefore = "not_before"
        case score, trigger, mention
        case suggestedAction = "suggested_action"
        case playbookURL = "playbook_url"
        case rule
        case digestItems = "digest_items"
        case digestTitle = "digest_title"
        case drop, escalation, thread, update
        case directTo = "direct_to"
        case suppressed
    }
}

/// What makes an alert an escalation: which step of the chain it is, the SLA it missed, the alert
/// nobody acknowledged, and whom it names.
public struct AlertEscalation: Codable, Sendable, Hashable {
    /// 1 for the first escalation of the episode.
    public var step: Int
    /// The most escalations the episode gets (`max_escalations`).
    public var of: Int
    /// When the response was due (the SLA's end in the destination's business hours).
    public var dueAt: Timestamp
    /// The alert that was not acknowledged.
    public var alertId: String
    /// Slack user ids the escalation names.
    public var mentions: [String]
    /// The direct message of this step to the account's owner (`direct_message_owner_via`): the
    /// alert goes to that Slack app destination, addressed to `AlertRecord.directTo`. Absent on
    /// channel escalations.
    public var directToOwner: Bool?

    public init(
        step: Int, of: Int, dueAt: Timestamp, alertId: String, mentions: [String], directToOwner: Bool? = nil
    ) {
        self.step = step
        self.of = of
        self.dueAt = dueAt
        self.alertId = alertId
        self.mentions = mentions
        self.directToOwner = directToOwner
    }

    enum CodingKeys: String, CodingKey {
        case step, of
        case dueAt = "due_at"
        case alertId = "alert_id"
        case mentions
        case directToOwner = "direct_to_owner"
    }
}
