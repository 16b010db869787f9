import Contracts

/// A parsed, validated rules file: what raises alerts, how loud they are, where they go and when.
///
/// Build one with `RulesConfig.parse(yaml:file:)`. Durations are milliseconds.
public struct RulesConfig: Sendable {
    public var defaults: RuleDefaults
    /// Rules in file order.
    public var rules: [AlertRule]
    /// Routes in file order: first match wins unless a route says `continue`.
    public var routes: [Route]
    /// Destination policies (quiet hours, digests) by destination name.
    public var destinations: [String: DestinationPolicy]
    public var inhibitions: [Inhibition]
    public var suppressions: [SuppressionWindow]
    public var priorities: PriorityMatrix
    /// Response SLAs and escalation chains by severity (`sla`); empty: nothing escalates.
    public var sla: [Severity: ResponseSLA]
    /// Working hours by destination (`destinations.<name>.business_hours`), in which SLAs are
    /// counted; a destination without: `businessHours(of:)`'s default. Kept by
    /// `leavingTimeToTheDispatcher()`: the evaluator counts SLAs.
    public var businessHours: [String: BusinessHours]

    public init(
        defaults: RuleDefaults = RuleDefaults(), rules: [AlertRule], routes: [Route],
        destinations: [String: DestinationPolicy], inhibitions: [Inhibition] = [],
        suppressions: [SuppressionWindow] = [], priorities: PriorityMatrix = .standard,
        sla: [Severity: ResponseSLA] = [:], businessHours: [String: BusinessHours] = [:]
    ) {
        self.sla = sla
        self.businessHours = businessHours
        self.defaults = defaults
        self.rules = rules
        self.routes = routes
        self.destinations = destinations
        self.inhibitions = inhibitions
        self.suppressions = suppressions
        self.priorities = priorities
    }

    /// The working hours of `destination`: its own, else Mon-Fri 09:00-17:00 in its quiet hours'
    /// zone, else in UTC.
    public func businessHours(of destination: String) -> BusinessHours {
        businessHours[destination]
            ?? .standard(timeZone: destinations[destination]?.quietHours?.timeZone ?? "UTC")
    }
}

/// Values a rule takes when it does not set its own.
public struct RuleDefaults: Sendable, Equatable {
    /// No second alert of the same type for the same account within this time (unless more severe):
    /// an episode that opens inside the cooldown counts as alerted (it is covered by the alert that
    /// started the cooldown) and speaks again only when it worsens or after the repeat interval.
    public var cooldownMs: Int64
    /// An open episode alerts again after this long.
    public var repeatIntervalMs: Int64
    /// An open episode alerts again when its measure worsens by this much (score points).
    public var repeatWhenWorseBy: Double
    /// How long a trigger's ref (payment id, ticket id) is remembered for dedup.
    public var dedupWindowMs: Int64
    /// Tier assumed for an account whose profile has none.
    public var tier: Tier

    public init(
        cooldownMs: Int64 = 12 * 3_600_000, repeatIntervalMs: Int64 = 7 * 86_400_000, repeatWhenWorseBy: Double = 10,
        dedupWindowMs: Int64 = 30 * 86_400_000, tier: Tier = .smb
    ) {
        self.cooldownMs = cooldownMs
        self.repeatIntervalMs = repeatIntervalMs
        self.repeatWhenWorseBy = repeatWhenWorseBy
        self.dedupWindowMs = dedupWindowMs
        self.tier = tier
    }
}

/// When a rule fires.
public enum RuleCondition: Sendable, Equatable {
    /// The account is in one of `zones` (an episode opens on entering); the episode ends when the
    /// account leaves them and, if set, its score is back at `recoverAtScore` or above.
    case zoneIn(zones: Set<Zone>, recoverAtScore: Int?)
    /// The score fell at least `points` below its highest value within the last `withinMs`.
    case scoreDrop(points: Int, withinMs: Int64)
    /// The score crossed below `line` (was at or above it, now below); the episode ends when the
    /// score is back at `line` or above.
    case crossesBelow(line: Int)
    /// One of these business events is in the record (deduplicated by its ref).
    case trigger(types: Set<TriggerType>)
    /// A positive signal with this code has a value of at least `atLeast` (a growth ratio), and,
    /// if set, the score is at least `minScore`.
    case signal(code: String, atLeast: Double, minScore: Int?)
    /// The episode of the named rule ended after it had alerted.
    case episodeEnded(rule: String)
}

/// One alert rule.
public struct AlertRule: Sendable, Equatable {
    public var name: String
    public var type: AlertType
    public var condition: RuleCondition
    public var severity: Severity
    /// Severity overrides by the account's current zone.
    public var severityByZone: [Zone: Severity]
    public var cooldownMs: Int64
    public var repeatIntervalMs: Int64
    /// nil: an open episode never repeats on worsening, only after the repeat interval.
    public var repeatWhenWorseBy: Double?
    /// The condition must hold this long (from the record that started it to a later record on which
    /// it still holds) before the episode's first alert: a one-day blip does not alert. 0: at once.
    public var holdForMs: Int64
    public var suggestedAction: String?
    public var playbookURL: String?

    /// Compact key of this rule's episodes in the account state.
    var key: UInt32 { AlertId.ruleKey(name) }

    public init(
        name: String, type: AlertType, condition: RuleCondition, severity: Severity,
        severityByZone: [Zone: Severity] = [:], cooldownMs: Int64, repeatIntervalMs: Int64, repeatWhenWorseBy: Double?,
        holdForMs: Int64 = 0, suggestedAction: String? = nil, playbookURL: String? = nil
    ) {
        self.name = name
        self.type = type
        self.condition = condition
        self.severity = severity
        self.severityByZone = severityByZone
        self.cooldownMs = cooldownMs
        self.repeatIntervalMs = repeatIntervalMs
        self.repeatWhenWorseBy = repeatWhenWorseBy
        self.holdForMs = holdForMs
        self.suggestedAction = suggestedAction
        self.playbookURL = playbookURL
    }

    func severity(in zone: Zone) -> Severity { severityByZone[zone] ?? severity }
}

/// What an alert must look like for a route to take it. Empty fields match anything.
public struct RouteMatcher: Sendable, Equatable {
    /// Alert types. `recovered` is only matched when listed here explicitly.
    public var types: Set<AlertType>?
    public var minSeverity: Severity?
    public var tiers: Set<Tier>?
    public var zones: Set<Zone>?
    public var minMRR: Double?
    public var accounts: Set<String>?
    /// Owners (Slack user ids).
    public var owners: Set<String>?

    public init(
        types: Set<AlertType>? = nil, minSeverity: Severity? = nil, tiers: Set<Tier>? = nil, zones: Set<Zone>? = nil,
        minMRR: Double? = nil, accounts: Set<String>? = nil, owners: Set<String>? = nil
    ) {
        self.types = types
        self.minSeverity = minSeverity
        self.tiers = tiers
        self.zones = zones
        self.minMRR = minMRR
        self.accounts = accounts
        self.owners = owners
    }
}

/// A route: alerts matching `match` go to `destination`; evaluation stops at the first match unless
/// `continueMatching` is set (as in Alertmanager).
public struct Route: Sendable, Equatable {
    public var name: String
    public var match: RouteMatcher
    public var destination: String
    public var continueMatching: Bool

    public init(name: String, match: RouteMatcher, destination: String, continueMatching: Bool) {
        self.name = name
        self.match = match
        self.destination = destination
        self.continueMatching = continueMatching
    }
}

/// Delivery policy of a destination: quiet hours, an optional digest and, in the destinations
/// file, how long alerts wait to be grouped. The URL lives in the dispatcher's config, never here.
public struct DestinationPolicy: Sendable, Equatable {
    public var quietHours: QuietHours?
    public var digest: DigestSchedule?
    /// How long the first alert for an account waits for others raised with it (milliseconds);
    /// nil: the dispatcher's default. Set only in the destinations file.
    public var groupWaitMs: Int64?

    public init(quietHours: QuietHours? = nil, digest: DigestSchedule? = nil, groupWaitMs: Int64? = nil) {
        self.quietHours = quietHours
        self.digest = digest
        self.groupWaitMs = groupWaitMs
    }
}

/// Mutes alerts for an account while a condition holds.
public struct Inhibition: Sendable, Equatable {
    public enum Source: String, Sendable, Equatable {
        /// The score record says a cancellation is scheduled.
        case cancellationScheduled = "cancellation_scheduled"
        /// The account has an open episode whose last alert was critical (or one is raised now).
        case openCriticalAlert = "open_critical_alert"
    }

    public var name: String
    public var when: Source
    /// Types muted; nil means all types (except `recovered`).
    public var muteTypes: Set<AlertType>?
    /// Severities muted: this one and below; nil means any severity below critical.
    public var muteMaxSeverity: Severity?

    public init(name: String, when: Source, muteTypes: Set<AlertType>?, muteMaxSeverity: Severity?) {
        self.name = name
        self.when = when
        self.muteTypes = muteTypes
        self.muteMaxSeverity = muteMaxSeverity
    }

    func mutes(_ type: AlertType, _ severity: Severity) -> Bool {
        if type == .recovered { return false }
        if let types = muteTypes, !types.contains(type) { return false }
        if let max = muteMaxSeverity { return severity <= max }
        return severity < .critical
    }
}

/// A window in which alerts are not raised at all (holidays, maintenance), for all accounts or some.
public struct SuppressionWindow: Sendable, Equatable {
    public var name: String
    public var from: Timestamp
    public var to: Timestamp
    /// nil: every account.
    public var accounts: Set<String>?
    /// nil: every type.
    public var types: Set<AlertType>?

    public init(
        name: String, from: Timestamp, to: Timestamp, accounts: Set<String>? = nil, types: Set<AlertType>? = nil
    ) {
        self.name = name
        self.from = from
        self.to = to
        self.accounts = accounts
        self.types = types
    }

    func suppresses(account: String, type: AlertType, at time: Timestamp) -> Bool {
        guard time >= from, time < to else { return false }
        if let accounts, !accounts.contains(account) { return false }
        if let types, !types.contains(type) { return false }
        return true
    }
}
