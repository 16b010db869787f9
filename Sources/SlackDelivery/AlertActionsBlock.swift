import Contracts
import Foundation

/// The buttons of an alert's lifecycle (issue 24): Acknowledge, "I'll take it", Snooze 1 d and
/// 7 d, and Resolve with each of the three outcomes (three buttons: a menu's option values are
/// capped at 150 characters, too short to name the alert). Slack sends a click to the app's interactivity
/// request URL (the dispatcher's `/slack/actions`), which records it on `alert-actions`.
///
/// Every element carries the same `value`: a small JSON object naming the alert, its account, rule
/// and destination (`AlertActionsBlock.Target`), read back from the click by `SlackInteraction`.
/// Pure: the same alert gives the same block.
public struct AlertActionsBlock: Sendable {
    /// The `block_id` of the buttons' block.
    public static let blockId = "alert_actions"
    /// Block Kit's limit on a button's `value` (characters): an alert whose names do not fit gets
    /// no buttons rather than cut ones.
    public static let maxValueLength = 2000

    /// The `action_id` of each element.
    public enum Action: String, Sendable, CaseIterable {
        case acknowledge = "alert_acknowledge"
        case take = "alert_take"
        case snoozeDay = "alert_snooze_1d"
        case snoozeWeek = "alert_snooze_7d"
        case resolveResolved = "alert_resolve_resolved"
        case resolveFalsePositive = "alert_resolve_false_positive"
        case resolveEscalated = "alert_resolve_escalated_to_churn"

        /// What the action records.
        public var kind: AlertActionKind {
            switch self {
            case .acknowledge: .acknowledge
            case .take: .take
            case .snoozeDay, .snoozeWeek: .snooze
            case .resolveResolved, .resolveFalsePositive, .resolveEscalated: .resolve
            }
        }

        /// The outcome a Resolve button records, nil for the others.
        public var outcome: AlertOutcome? {
            switch self {
            case .resolveResolved: .resolved
            case .resolveFalsePositive: .falsePositive
            case .resolveEscalated: .escalatedToChurn
            default: nil
            }
        }

        /// How long a snooze lasts (ms), nil for the others.
        public var snoozeMs: Int64? {
            switch self {
            case .snoozeDay: 86_400_000
            case .snoozeWeek: 7 * 86_400_000
            default: nil
            }
        }
    }

    /// What a click is about: carried in each element's `value`.
    public struct Target: Codable, Sendable, Hashable {
        /// The alert.
        public var alertId: String
        /// Its account (the key of the action record).
        public var accountId: String
        /// The rule that raised it.
        public var rule: String?
        /// The destination whose message carries the buttons.
        public var destination: String

        /// A target from its parts.
        public init(alertId: String, accountId: String, rule: String?, destination: String) {
            self.alertId = alertId
            self.accountId = accountId
            self.rule = rule
            self.destination = destination
        }

        enum CodingKeys: String, CodingKey {
            case alertId = "a"
            case accountId = "c"
            case rule = "r"
            case destination = "d"
        }
    }

    /// The block.
    public init() {}

    /// The element `value` for `alert`, or nil when it does not fit Block Kit's limit.
    public static func value(for alert: AlertRecord) -> String? {
        let target = Target(
            alertId: alert.alertId, accountId: alert.accountId, rule: alert.rule, destination: alert.destination)
        guard let bytes = try? RecordCoding.encode(target) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        return text.count <= maxValueLength ? text : nil
    }

    /// The actions block for `alert`: nil for a digest (many accounts) or a recovery (nothing left
    /// to act on), or when its names are too long for a `value`.
    func block(for alert: AlertRecord) -> JSONValue? {
        guard alert.type != .digest, alert.type != .recovered, let value = Self.value(for: alert) else { return nil }
        func text(_ s: String) -> JSONValue { .object([("type", .string("plain_text")), ("text", .string(s))]) }
        func button(_ label: String, _ action: Action, primary: Bool = false) -> JSONValue {
            var e: [(String, JSONValue)] = [
                ("type", .string("button")), ("text", text(label)), ("action_id", .string(action.rawValue)),
                ("value", .string(value)),
            ]
            if primary { e.append(("style", .string("primary"))) }
            return .object(e)
        }
        return .object([
            ("type", .string("actions")), ("block_id", .string(Self.blockId)),
            (
                "elements",
                .array([
                    button("Acknowledge", .acknowledge), button("I'll take it", .take, primary: true),
                    button("Snooze 1 d", .snoozeDay), button("Snooze 7 d", .snoozeWeek),
                    button("Resolved", .resolveResolved), button("False positive", .resolveFalsePositive),
                    button("Escalated to churn", .resolveEscalated),
                ])
            ),
        ])
    }
}
