import Contracts
import Crypto
import Foundation

/// Why a signed interaction request records nothing (answered 400: Slack's own requests never
/// land here; a hand-made signed request might).
public enum SlackInteractionRefusal: String, Sendable, CaseIterable, Error {
    /// The body is not a form with one `payload` field of at most `maxPayloadBytes`.
    case notForm = "not_form"
    /// `payload` is not a JSON object of the expected shape.
    case notJSON = "not_json"
    /// Not a `block_actions` interaction with exactly one action.
    case notBlockActions = "not_block_actions"
    /// An `action_id` that is not one of `AlertActionsBlock.Action`.
    case unknownAction = "unknown_action"
    /// The action's `value` does not name an alert (`AlertActionsBlock.Target`) within the limits.
    case badValue = "bad_value"
    /// A user, team or `action_ts` missing, empty, too long or not made of Slack's id characters.
    case badIdentity = "bad_identity"
}

/// One click on an alert's lifecycle buttons, read from a Slack interaction request's form body
/// (`payload=` and the URL-encoded JSON Slack sends to the app's request URL). Nothing in it is
/// trusted: sizes are capped before decoding, ids are checked against Slack's id alphabet and
/// length, and the alert it names must be a whole `AlertActionsBlock.Target`. Pure.
public struct SlackInteraction: Sendable, Hashable {
    /// The Slack user who clicked (`U024BE7LH`).
    public var userId: String
    /// The workspace (`T0001`), when sent.
    public var teamId: String?
    /// The button clicked.
    public var action: AlertActionsBlock.Action
    /// Slack's time of the click (`1700000000.123456`): with the user and the action, it names the click.
    public var actionTs: String
    /// The alert the button was on.
    public var target: AlertActionsBlock.Target

    /// A click from its parts (the tests and the local Slack stand-in play Slack's part with it).
    public init(
        userId: String, teamId: String?, action: AlertActionsBlock.Action, actionTs: String,
        target: AlertActionsBlock.Target
    ) {
        self.userId = userId
        self.teamId = teamId
        self.action = action
        self.actionTs = actionTs
        self.target = target
    }

    /// Largest form body read (bytes): Slack's block_actions payloads carry the whole message.
    public static let maxBodyBytes = 256 * 1024
    /// Longest Slack id accepted (user, team, `action_ts`).
    public static let maxIdLength = 64

    /// The click in `body`, or why there is none.
    public static func parse(formBody body: [UInt8]) -> Result<SlackInteraction, SlackInteractionRefusal> {
        guard body.count <= maxBodyBytes, let json = formField("payload", in: body) else { return .failure(.notForm) }
        let payload: Payload
        do {
            payload = try JSONDecoder().decode(Payload.self, from: Data(json.utf8))
        } catch {
            return .failure(.notJSON)
        }
        guard payload.type == "block_actions", let actions = payload.actions, actions.count == 1 else {
            return .failure(.notBlockActions)
        }
        let clicked = actions[0]
        guard let actionId = clicked.actionId, let action = AlertActionsBlock.Action(rawValue: actionId) else {
            return .failure(.unknownAction)
        }
        guard let value = clicked.value, value.utf8.count <= AlertActionsBlock.maxValueLength,
            let target = try? JSONDecoder().decode(AlertActionsBlock.Target.self, from: Data(value.utf8)),
            Self.isName(target.alertId), Self.isName(target.accountId), Self.isName(target.destination),
            target.accountId != AlertActionRecord.everyAccount, target.rule.map(Self.isName) ?? true
        else { return .failure(.badValue) }
        guard let user = payload.user?.id, Self.isSlackId(user), let actionTs = clicked.actionTs,
            Self.isSlackId(actionTs), payload.team?.id.map(Self.isSlackId) ?? true
        else { return .failure(.badIdentity) }
        return .success(
            SlackInteraction(userId: user, teamId: payload.team?.id, action: action, actionTs: actionTs, target: target)
        )
    }

    /// The `alert-actions` record of this click, received at `now`: its id is a digest of team,
    /// user, action, `action_ts` and alert, so the same click delivered twice has the same id.
    public func record(receivedAt now: Timestamp) -> AlertActionRecord {
        var until: Timestamp?
        if let ms = action.snoozeMs {
            let (end, overflow) = now.millisecondsSinceEpoch.addingReportingOverflow(ms)
            until = Timestamp(millisecondsSinceEpoch: overflow ? Int64.max : end)
        }
        return AlertActionRecord(
            actionId: id, kind: action.kind, accountId: target.accountId, alertId: target.alertId, rule: target.rule,
            destination: target.destination, by: userId, at: now, until: until, outcome: action.outcome,
            source: .slack)
    }

    /// The click's identity: hex SHA-256 (first 32 digits) of its naming fields.
    public var id: String {
        let text = [teamId ?? "", userId, action.rawValue, actionTs, target.alertId].joined(separator: "\u{1F}")
        return String(HMACSHA256.hex(Array(SHA256.hash(data: Array(text.utf8)))).prefix(32))
    }

    /// Slack ids and timestamps: letters, digits, `.`, `_`, `-`, at most `maxIdLength`.
    static func isSlackId(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= maxIdLength
            && s.utf8.allSatisfy { c in
                (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2E
                    || c == 0x5F || c == 0x2D
            }
    }

    /// Alert ids, account ids, rules and destinations: non-empty, at most `AlertActionRecord.maxIdLength`.
    static func isName(_ s: String) -> Bool { !s.isEmpty && s.count <= AlertActionRecord.maxIdLength }

    /// The decoded value of form field `name` in an `application/x-www-form-urlencoded` body.
    static func formField(_ name: String, in body: [UInt8]) -> String? {
        for pair in body.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, String(decoding: parts[0], as: UTF8.self) == name else { continue }
            let raw = String(decoding: parts[1], as: UTF8.self).replacingOccurrences(of: "+", with: " ")
            return raw.removingPercentEncoding
        }
        return nil
    }

    /// The parts of Slack's payload read (everything else is ignored).
    struct Payload: Decodable {
        struct Id: Decodable { var id: String? }
        struct Action: Decodable {
            var actionId: String?
            var value: String?
            var actionTs: String?
            enum CodingKeys: String, CodingKey {
                case actionId = "action_id"
                case value
                case actionTs = "action_ts"
            }
        }
        var type: String?
        var user: Id?
        var team: Id?
        var actions: [Action]?
    }
}
