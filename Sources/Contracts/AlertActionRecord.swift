/// What a person did with an alert (issue 24): the kinds of `AlertActionRecord`.
public enum AlertActionKind: String, Codable, Sendable, CaseIterable {
    /// Seen: someone is on it ("Acknowledge").
    case acknowledge
    /// Claimed: the clicking person becomes the episode's owner ("I'll take it").
    case take
    /// No alert of this episode until `until` ("Snooze 1 d", "Snooze 7 d").
    case snooze
    /// Closed with an `outcome`: no alert until a new episode starts.
    case resolve
    /// A silence (`fleet-admin silence add`): alerts its `matchers` select are not sent until `until`.
    case silence
    /// Ends the silence `silenceId` now (`fleet-admin silence expire`).
    case expireSilence = "expire_silence"
}

/// How an alert ended, in the three categories the precision report tracks.
public enum AlertOutcome: String, Codable, Sendable, CaseIterable {
    /// The alert was wrong: nothing was the matter with the account.
    case falsePositive = "false_positive"
    /// A true positive, handled: the account is fine again.
    case resolved
    /// A true positive that went on to churn.
    case escalatedToChurn = "escalated_to_churn"
}

/// Where an action came from.
public enum AlertActionSource: String, Codable, Sendable, CaseIterable {
    /// A button in an alert's Slack message, through the dispatcher's verified `/slack/actions` path.
    case slack
    /// `fleet-admin silence`.
    case fleetAdmin = "fleet-admin"
}

/// What a silence selects: every matcher set must match (nil matches anything). A silence with no
/// matcher at all is refused (`AlertActionRecord.problem`): it would mute the whole fleet.
public struct SilenceMatchers: Codable, Sendable, Hashable {
    /// Account id, exactly.
    public var account: String?
    /// Rule name, exactly.
    public var rule: String?
    /// Alert type.
    public var type: AlertType?
    /// Account tier.
    public var tier: Tier?
    /// Destination name, exactly.
    public var destination: String?

    /// Matchers from their parts.
    public init(
        account: String? = nil, rule: String? = nil, type: AlertType? = nil, tier: Tier? = nil,
        destination: String? = nil
    ) {
        self.account = account
        self.rule = rule
        self.type = type
        self.tier = tier
        self.destination = destination
    }

    /// True when no matcher is set.
    public var isEmpty: Bool { account == nil && rule == nil && type == nil && tier == nil && destination == nil }

    /// Whether an alert with these facts is selected.
    public func matches(account: String, rule: String?, type: AlertType, tier: Tier?, destination: String) -> Bool {
        (self.account.map { $0 == account } ?? true) && (self.rule.map { $0 == rule } ?? true)
            && (self.type.map { $0 == type } ?? true) && (self.tier.map { $0 == tier } ?? true)
            && (self.destination.map { $0 == destination } ?? true)
    }
}

/// An `alert-actions` record (key = account id, co-partitioned with `health-scores`, so the
/// evaluator replica that owns an account's episodes reads the actions on it).
///
/// Written by the dispatcher's `/slack/actions` path for a click whose Slack signature verified,
/// and by `fleet-admin silence`. A silence whose matchers name no account applies to every account:
/// it is written once to every partition of the topic (key `*`), so every evaluator replica holds it.
///
/// `action_id` identifies one click (a digest of Slack's team, user, action and `action_ts`) or
/// one admin command: the same click delivered twice gives the same id, and the evaluator applies
/// an id once. Nothing in it is trusted by a reader: `problem` names the first field out of range.
public struct AlertActionRecord: Codable, Sendable, Hashable {
    /// Version of this contract.
    public var schema: Int
    /// One click or one command; the same for a replay of it.
    public var actionId: String
    /// What was done.
    public var kind: AlertActionKind
    /// The account (the record's key); `*` for a silence on every account.
    public var accountId: String
    /// The alert whose button was clicked (acknowledge, take, snooze, resolve).
    public var alertId: String?
    /// The rule that raised that alert.
    public var rule: String?
    /// The destination whose message carried the button.
    public var destination: String?
    /// Who: a Slack user id (`U024BE7LH`) for a click, the `--by` name for a command.
    public var by: String
    /// When it was done (the click, the command).
    public var at: Timestamp
    /// Snooze and silence: when it ends.
    public var until: Timestamp?
    /// Resolve: the outcome.
    public var outcome: AlertOutcome?
    /// Silence and expire_silence: the silence's id.
    public var silenceId: String?
    /// Silence: what it selects.
    public var matchers: SilenceMatchers?
    /// Silence: why (free text, shown by `silence list`).
    public var reason: String?
    /// Where it came from.
    public var source: AlertActionSource

    /// The version written now.
    public static let currentSchema = 1
    /// The account id of a silence on every account.
    public static let everyAccount = "*"
    /// Longest id, name or user accepted (characters).
    public static let maxIdLength = 256
    /// Longest reason accepted (characters).
    public static let maxReasonLength = 1000

    /// A record from its fields.
    public init(
        schema: Int = AlertActionRecord.currentSchema, actionId: String, kind: AlertActionKind, accountId: String,
        alertId: String? = nil, rule: String? = nil, destination: String? = nil, by: String, at: Timestamp,
        until: Timestamp? = nil, outcome: AlertOutcome? = nil, silenceId: String? = nil,
        matchers: SilenceMatchers? = nil, reason: String? = nil, source: AlertActionSource
    ) {
        self.schema = schema
        self.actionId = actionId
        self.kind = kind
        self.accountId = accountId
        self.alertId = alertId
        self.rule = rule
        self.destination = destination
        self.by = by
        self.at = at
        self.until = until
        self.outcome = outcome
        self.silenceId = silenceId
        self.matchers = matchers
        self.reason = reason
        self.source = source
    }

    /// The first reason this record is not to be applied, or nil when it is whole: ids empty or
    /// over `maxIdLength`, a snooze or silence without an end after `at`, a resolve without an
    /// outcome, a button action without its alert, a silence without matchers or id.
    public var problem: String? {
        func bad(_ text: String?, _ name: String, required: Bool) -> String? {
            guard let text else { return required ? "missing \(name)" : nil }
            if text.isEmpty { return "empty \(name)" }
            if text.count > Self.maxIdLength { return "\(name) longer than \(Self.maxIdLength) characters" }
            return nil
        }
        if schema != Self.currentSchema { return "unknown schema \(schema)" }
        if let p = bad(actionId, "action_id", required: true) ?? bad(accountId, "account_id", required: true)
            ?? bad(by, "by", required: true)
        {
            return p
        }
        if let p = bad(rule, "rule", required: false) ?? bad(destination, "destination", required: false) {
            return p
        }
        if let reason, reason.count > Self.maxReasonLength {
            return "reason longer than \(Self.maxReasonLength) characters"
        }
        switch kind {
        case .acknowledge, .take, .snooze, .resolve:
            if accountId == Self.everyAccount { return "\(kind.rawValue) on every account" }
            if let p = bad(alertId, "alert_id", required: true) { return p }
            if kind == .snooze {
                guard let until else { return "snooze without until" }
                if until <= at { return "snooze ends before it starts" }
            }
            if kind == .resolve, outcome == nil { return "resolve without outcome" }
        case .silence:
            if let p = bad(silenceId, "silence_id", required: true) { return p }
            guard let matchers, !matchers.isEmpty else { return "silence without matchers" }
            for (name, value) in [
                ("account", matchers.account), ("rule", matchers.rule), ("destination", matchers.destination),
            ] {
                if let p = bad(value, "matchers.\(name)", required: false) { return p }
            }
            guard let until else { return "silence without until" }
            if until <= at { return "silence ends before it starts" }
            if (matchers.account ?? Self.everyAccount) != accountId {
                return "account_id is not the silence's account matcher (or * without one)"
            }
        case .expireSilence:
            if let p = bad(silenceId, "silence_id", required: true) { return p }
        }
        return nil
    }

    enum CodingKeys: String, CodingKey {
        case schema
        case actionId = "action_id"
        case kind
        case accountId = "account_id"
        case alertId = "alert_id"
        case rule, destination, by, at, until, outcome
        case silenceId = "silence_id"
        case matchers, reason, source
    }
}
