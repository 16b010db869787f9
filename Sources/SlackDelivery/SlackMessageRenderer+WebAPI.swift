import Contracts

/// Bodies for a Slack app destination (`chat.postMessage`): the same message as for an incoming
/// webhook, plus the channel and Slack message metadata naming every alert id of the message,
/// so `conversations.history` (with `include_all_metadata`) can tell later whether an alert was
/// posted.
///
/// ```json
/// {"channel":"C0123","text":"...","blocks":[...],"attachments":[...],
///  "metadata":{"event_type":"account_health_alert","event_payload":{"alert_ids":["a1","a2"]}}}
/// ```
extension SlackMessageRenderer {
    /// The metadata `event_type` of every message the fleet posts through the Web API.
    public static let metadataEventType = "account_health_alert"

    /// The `chat.postMessage` body for `group` in `channel`.
    public func renderForWebAPI(_ group: AlertGroup, channel: String) -> [UInt8] {
        Self.webAPIMessage(message(group), channel: channel, alertIds: group.alertIds).serialized()
    }

    /// The `chat.postMessage` body for one alert in `channel`; with `threadTS`, a reply in that
    /// message's thread, also shown in the channel when `broadcast` (an escalation).
    public func renderForWebAPI(
        _ alert: AlertRecord, channel: String, threadTS: String? = nil, broadcast: Bool = false
    ) -> [UInt8] {
        var head: [(String, JSONValue)] = []
        if let threadTS {
            head.append(("thread_ts", .string(threadTS)))
            if broadcast { head.append(("reply_broadcast", .bool(true))) }
        }
        return Self.webAPIMessage(message(alert), channel: channel, alertIds: [alert.alertId], head: head)
            .serialized()
    }

    /// The `chat.update` body that turns message `message` into `alert` as it stands now: the
    /// original alert with its `update` (the state line; quiet and without buttons once closed).
    /// The metadata keeps naming the original alert, so a channel look-up still finds it.
    ///
    /// A grouped message (`posted.grouped`) gets its header and state line only: without
    /// `attachments` (and without metadata) in the body, Slack keeps the message's details, its
    /// colour and its buttons, which name the other alerts of the message too.
    public func renderUpdate(_ alert: AlertRecord, message posted: PostedMessage) -> [UInt8] {
        var full = message(alert)
        if posted.grouped, case .object(let pairs) = full { full = .object(pairs.filter { $0.0 != "attachments" }) }
        var body = Self.webAPIMessage(
            full, channel: posted.channel, alertIds: [alert.thread ?? alert.alertId], head: [("ts", .string(posted.ts))]
        )
        if posted.grouped, case .object(let pairs) = body { body = .object(pairs.filter { $0.0 != "metadata" }) }
        return body.serialized()
    }

    static func webAPIMessage(
        _ message: JSONValue, channel: String, alertIds: [String], head: [(String, JSONValue)] = []
    ) -> JSONValue {
        var fields: [(String, JSONValue)] = [("channel", .string(channel))] + head
        if case .object(let pairs) = message { fields += pairs }
        fields.append(
            (
                "metadata",
                .object([
                    ("event_type", .string(metadataEventType)),
                    ("event_payload", .object([("alert_ids", .array(alertIds.map { .string($0) }))])),
                ])
            ))
        return .object(fields)
    }
}
