import Contracts

/// The body and signature headers of a generic JSON webhook (CRM sync, automation).
///
/// Body: `{"event":"alert","text":<notification text>,"alert":<the alerts record, as in the contract>}`.
/// When the destination has a signing secret, two headers are added:
/// `X-Fleet-Timestamp: <unix seconds>` and
/// `X-Fleet-Signature: v1=<hex HMAC-SHA256(secret, "v1:" + timestamp + ":" + body)>`.
/// A receiver recomputes the MAC and rejects old timestamps to stop replays.
public enum GenericWebhookPayload {
    public static let timestampHeader = "X-Fleet-Timestamp"
    public static let signatureHeader = "X-Fleet-Signature"

    /// The JSON body for `alert`. Pure.
    public static func body(for alert: AlertRecord, renderer: SlackMessageRenderer = SlackMessageRenderer()) throws
        -> [UInt8]
    {
        let record = try RecordCoding.encode(alert)
        var out: [UInt8] = Array(#"{"event":"alert","text":"#.utf8)
        JSONValue.writeString(renderer.fallbackText(alert), into: &out)
        out += Array(#","alert":"#.utf8)
        out += record
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// The JSON body for a group: a group of one is `body(for:)` of its alert; several alerts are
    /// `{"event":"alert_group","text":<notification text>,"alerts":[<alerts records, lead first>]}`.
    public static func body(for group: AlertGroup, renderer: SlackMessageRenderer = SlackMessageRenderer()) throws
        -> [UInt8]
    {
        guard group.alerts.count > 1 else { return try body(for: group.lead, renderer: renderer) }
        var out: [UInt8] = Array(#"{"event":"alert_group","text":"#.utf8)
        JSONValue.writeString(renderer.fallbackText(group), into: &out)
        out += Array(#","alerts":["#.utf8)
        for (i, alert) in group.alerts.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out += try RecordCoding.encode(alert)
        }
        out += Array("]}".utf8)
        return out
    }

    /// The signature header value for `body` sent at `unixSeconds`.
    public static func signature(body: [UInt8], unixSeconds: Int64, secret: SigningSecret) -> String {
        let message = Array("v1:\(unixSeconds):".utf8) + body
        return "v1=" + HMACSHA256.hex(HMACSHA256.mac(key: secret.bytes, message: message))
    }

    /// Both signing headers as `Name: value` lines.
    public static func signingHeaders(body: [UInt8], unixSeconds: Int64, secret: SigningSecret) -> [String] {
        [
            "\(timestampHeader): \(unixSeconds)",
            "\(signatureHeader): \(signature(body: body, unixSeconds: unixSeconds, secret: secret))",
        ]
    }
}
