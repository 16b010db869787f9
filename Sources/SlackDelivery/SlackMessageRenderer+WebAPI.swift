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

    /// The `chat.postMessage` body for one alert in `channel`.
    public func renderForWebAPI(_ alert: AlertRecord, channel: String) -> [UInt8] {
        Self.webAPIMessage(message(alert), channel: channel, alertIds: [alert.alertId]).serialized()
    }

    static func webAPIMessage(_ message: JSONValue, channel: String, alertIds: [String]) -> JSONValue {
        var fields: [(String, JSONValue)] = [("channel", .string(channel))]
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
