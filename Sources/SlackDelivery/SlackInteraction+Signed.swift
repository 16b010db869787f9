import Contracts
import Foundation

extension SlackInteraction {
    /// The request Slack would send to the interactivity URL for this click at `seconds` (Unix
    /// time): the form body (`payload=` and the URL-encoded `block_actions` JSON) and the
    /// `x-slack-request-timestamp` and `x-slack-signature` headers, signed by `verifier`. For the
    /// local Slack stand-in, the tests and the demo, which play Slack's part.
    public func signedRequest(by verifier: SlackRequestVerifier, at seconds: Int64) -> (
        body: [UInt8], headers: [String: String]
    ) {
        let value = (try? RecordCoding.encode(target)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        var payload: [String: Any] = [
            "type": "block_actions", "user": ["id": userId],
            "actions": [
                [
                    "type": "button", "block_id": AlertActionsBlock.blockId, "action_id": action.rawValue,
                    "value": value, "action_ts": actionTs,
                ]
            ],
        ]
        if let teamId { payload["team"] = ["id": teamId] }
        let json = (try? JSONSerialization.data(withJSONObject: payload, options: [.sortedKeys])) ?? Data()
        // RFC 3986 unreserved characters only (ASCII), as a form encoder sends them.
        let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        let encoded = String(decoding: json, as: UTF8.self).addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
        let body = Array(("payload=" + encoded).utf8)
        return (
            body,
            [
                "x-slack-request-timestamp": String(seconds),
                "x-slack-signature": verifier.signature(timestamp: seconds, body: body),
            ]
        )
    }
}
