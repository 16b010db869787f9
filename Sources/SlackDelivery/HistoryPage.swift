import Foundation

/// One page of a `conversations.history` answer, reduced to what reconciliation needs: the alert
/// ids in each message's metadata (`event_type` `account_health_alert`) and the next cursor.
public struct HistoryPage: Sendable, Hashable {
    /// Alert ids of each message with the fleet's metadata, newest message first.
    public var messageAlertIds: [[String]]
    /// `response_metadata.next_cursor` when `has_more`; nil on the last page.
    public var nextCursor: String?

    public init(messageAlertIds: [[String]], nextCursor: String?) {
        self.messageAlertIds = messageAlertIds
        self.nextCursor = nextCursor
    }

    /// Parses an `{"ok":true,...}` page; nil when the body is not one.
    public static func parse(_ body: [UInt8]) -> HistoryPage? {
        guard let root = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
            root["ok"] as? Bool == true
        else { return nil }
        var ids: [[String]] = []
        for message in root["messages"] as? [[String: Any]] ?? [] {
            guard let metadata = message["metadata"] as? [String: Any],
                metadata["event_type"] as? String == SlackMessageRenderer.metadataEventType,
                let payload = metadata["event_payload"] as? [String: Any],
                let list = payload["alert_ids"] as? [String]
            else { continue }
            ids.append(list)
        }
        var cursor: String?
        if root["has_more"] as? Bool == true, let meta = root["response_metadata"] as? [String: Any],
            let next = meta["next_cursor"] as? String, !next.isEmpty
        {
            cursor = next
        }
        return HistoryPage(messageAlertIds: ids, nextCursor: cursor)
    }

    /// The `conversations.history` path and query: `channel`, `oldest` and `latest` when given
    /// (seconds with microseconds), `include_all_metadata=true`, `limit`, and `cursor` when given
    /// (escaped).
    public static func query(
        channel: String, oldestMilliseconds: Int64, latestMilliseconds: Int64? = nil, limit: Int, cursor: String?
    ) -> String {
        var q = "/conversations.history?channel=\(escape(channel))&oldest=\(slackTime(oldestMilliseconds))"
        if let latestMilliseconds { q += "&latest=\(slackTime(latestMilliseconds))" }
        q += "&include_all_metadata=true&limit=\(limit)"
        if let cursor { q += "&cursor=\(escape(cursor))" }
        return q
    }

    /// Wall ms as Slack's `"<seconds>.<microseconds>"`.
    static func slackTime(_ milliseconds: Int64) -> String {
        let ms = max(0, milliseconds)
        return "\(ms / 1000).\(String(format: "%06d", Int(ms % 1000) * 1000))"
    }

    static func escape(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }
}
