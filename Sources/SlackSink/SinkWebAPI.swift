import Foundation

/// One message the sink's Slack Web API stored (`chat.postMessage`), as `conversations.history`
/// gives it back.
public struct StoredMessage: Sendable, Hashable {
    /// The channel id the message was posted to.
    public var channel: String
    /// Slack's message timestamp, `"<seconds>.<microseconds>"`, unique and increasing.
    public var ts: String
    /// The message's `text`.
    public var text: String
    /// `metadata.event_type`, if any.
    public var eventType: String?
    /// `metadata.event_payload.alert_ids`, if any.
    public var alertIds: [String]
    /// The `metadata` object as JSON text, if any.
    public var metadataJSON: String?
    /// The whole request body (the latest `chat.update`'s once edited).
    public var body: [UInt8]
    /// For a thread reply: the `ts` of the message it replies to.
    public var threadTS: String? = nil
    /// For a thread reply: whether it is shown in the channel too (`reply_broadcast`).
    public var broadcast: Bool = false
    /// How many times `chat.update` edited it.
    public var edits: Int = 0
}

/// The sink's answers to the Slack Web API methods the dispatcher uses, like Slack:
/// - `POST /api/chat.postMessage`: needs `Authorization: Bearer <token>` (the expected token when
///   one is set; else any), a JSON body with `channel`; stores the message with its metadata and
///   answers `{"ok":true,"channel":...,"ts":...,"message":{...}}`; `not_authed`, `invalid_auth`,
///   `channel_not_found` (no channel), `invalid_json` otherwise. `thread_ts` naming a message of
///   the channel makes it a reply (`thread_not_found` otherwise), `reply_broadcast` is kept.
/// - `POST /api/chat.update`: `channel` and `ts` of a stored message: its text, blocks and
///   metadata are replaced and it counts one edit; `message_not_found` otherwise.
/// - `GET /api/conversations.history?channel=&oldest=&limit=&cursor=&include_all_metadata=`:
///   the channel's messages newer than `oldest`, newest first, `limit` a page (default 100, at most
///   999), `has_more` and `response_metadata.next_cursor`; `metadata` only with
///   `include_all_metadata=true`.
/// Scripted answers of these paths (429, 5xx, `.apiError`) come first, as on webhook paths; a
/// scripted `.ok` means "answer as Slack would".
struct SinkWebAPI {
    private(set) var messages: [StoredMessage] = []
    private var lastMicros: Int64 = 0
    var expectedToken: String?

    static func isPostMessage(_ path: String) -> Bool { path.hasSuffix("/chat.postMessage") }
    static func isHistory(_ path: String) -> Bool { path.hasSuffix("/conversations.history") }
    static func isUpdate(_ path: String) -> Bool { path.hasSuffix("/chat.update") }

    /// The answer to a `chat.update`.
    mutating func update(headers: [String: String], body: [UInt8]) -> SinkResponse {
        if let refusal = authRefusal(headers) { return refusal }
        guard let root = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            return .apiError("invalid_json")
        }
        guard let channel = root["channel"] as? String, !channel.isEmpty else { return .apiError("channel_not_found") }
        guard let ts = root["ts"] as? String,
            let i = messages.firstIndex(where: { $0.channel == channel && $0.ts == ts })
        else { return .apiError("message_not_found") }
        messages[i].text = root["text"] as? String ?? messages[i].text
        // Like Slack: `blocks`, `attachments` and `metadata` left out of the edit are kept.
        var merged = root
        if let before = try? JSONSerialization.jsonObject(with: Data(messages[i].body)) as? [String: Any] {
            for key in ["blocks", "attachments", "metadata"] where merged[key] == nil { merged[key] = before[key] }
        }
        messages[i].body =
            (try? JSONSerialization.data(withJSONObject: merged, options: [.sortedKeys])).map(Array.init) ?? body
        messages[i].edits += 1
        let json =
            #"{"ok":true,"channel":\#(Self.quote(channel)),"ts":"\#(ts)","text":\#(Self.quote(messages[i].text))}"#
        return .custom(status: 200, body: json, headers: ["Content-Type": "application/json; charset=utf-8"])
    }

    /// The answer to a `chat.postMessage`.
    mutating func postMessage(headers: [String: String], body: [UInt8], wallMilliseconds: Int64) -> SinkResponse {
        if let refusal = authRefusal(headers) { return refusal }
        guard let root = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            return .apiError("invalid_json")
        }
        guard let channel = root["channel"] as? String, !channel.isEmpty else { return .apiError("channel_not_found") }
        let threadTS = root["thread_ts"] as? String
        if let threadTS, !messages.contains(where: { $0.channel == channel && $0.ts == threadTS }) {
            return .apiError("thread_not_found")
        }
        var micros = wallMilliseconds * 1000
        if micros <= lastMicros { micros = lastMicros + 1 }
        lastMicros = micros
        let ts = "\(micros / 1_000_000).\(String(format: "%06d", Int(micros % 1_000_000)))"
        var eventType: String?
        var ids: [String] = []
        var metadataJSON: String?
        if let metadata = root["metadata"] as? [String: Any] {
            eventType = metadata["event_type"] as? String
            ids = (metadata["event_payload"] as? [String: Any])?["alert_ids"] as? [String] ?? []
            metadataJSON = (try? JSONSerialization.data(withJSONObject: metadata, options: [.sortedKeys])).map {
                String(decoding: $0, as: UTF8.self)
            }
        }
        let text = root["text"] as? String ?? ""
        messages.append(
            StoredMessage(
                channel: channel, ts: ts, text: text, eventType: eventType, alertIds: ids, metadataJSON: metadataJSON,
                body: body, threadTS: threadTS, broadcast: root["reply_broadcast"] as? Bool ?? false))
        let json =
            #"{"ok":true,"channel":\#(Self.quote(channel)),"ts":"\#(ts)","message":{"type":"message","ts":"\#(ts)","text":\#(Self.quote(text))}}"#
        return .custom(status: 200, body: json, headers: ["Content-Type": "application/json; charset=utf-8"])
    }

    /// The answer to a `conversations.history`.
    func history(headers: [String: String], query: String) -> SinkResponse {
        if let refusal = authRefusal(headers) { return refusal }
        var params: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            let key = String(kv[0]).removingPercentEncoding ?? String(kv[0])
            let value = kv.count > 1 ? (String(kv[1]).removingPercentEncoding ?? String(kv[1])) : ""
            params[key] = value
        }
        guard let channel = params["channel"], !channel.isEmpty else { return .apiError("channel_not_found") }
        let oldest = Self.micros(params["oldest"]) ?? 0
        let latest = Self.micros(params["latest"]) ?? Int64.max
        let limit = min(max(Int(params["limit"] ?? "") ?? 100, 1), 999)
        let withMetadata = params["include_all_metadata"] == "true" || params["include_all_metadata"] == "1"
        let inChannel = messages.filter { m in
            guard m.channel == channel, let t = Self.micros(m.ts) else { return false }
            return t > oldest && t <= latest
        }.reversed()
        var start = 0
        if let cursor = params["cursor"], !cursor.isEmpty {
            guard let decoded = Data(base64Encoded: cursor).map({ String(decoding: $0, as: UTF8.self) }),
                decoded.hasPrefix("next_ts:"),
                let n = Int(decoded.dropFirst(8))
            else { return .apiError("invalid_cursor") }
            start = n
        }
        let all = Array(inChannel)
        let page = all.dropFirst(start).prefix(limit)
        let hasMore = start + page.count < all.count
        var items: [String] = []
        for m in page {
            var item = #"{"type":"message","ts":"\#(m.ts)","text":\#(Self.quote(m.text))"#
            if withMetadata, let meta = m.metadataJSON { item += #","metadata":\#(meta)"# }
            items.append(item + "}")
        }
        let next = hasMore ? Data("next_ts:\(start + page.count)".utf8).base64EncodedString() : ""
        let json =
            #"{"ok":true,"messages":[\#(items.joined(separator: ","))],"has_more":\#(hasMore),"pin_count":0,"response_metadata":{"next_cursor":"\#(next)"}}"#
        return .custom(status: 200, body: json, headers: ["Content-Type": "application/json; charset=utf-8"])
    }

    private func authRefusal(_ headers: [String: String]) -> SinkResponse? {
        guard let auth = headers["authorization"], auth.hasPrefix("Bearer "), auth.count > 7 else {
            return .apiError("not_authed")
        }
        if let expectedToken, String(auth.dropFirst(7)) != expectedToken { return .apiError("invalid_auth") }
        return nil
    }

    /// `"1700000000.123456"` -> microseconds.
    static func micros(_ ts: String?) -> Int64? {
        guard let ts, !ts.isEmpty else { return nil }
        let parts = ts.split(separator: ".", maxSplits: 1)
        guard let s = Int64(parts[0]) else { return nil }
        var frac: Int64 = 0
        if parts.count > 1 {
            let digits = String(parts[1].prefix(6)).padding(toLength: 6, withPad: "0", startingAt: 0)
            guard let f = Int64(digits) else { return nil }
            frac = f
        }
        return s * 1_000_000 + frac
    }

    static func quote(_ s: String) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: [s], options: [.fragmentsAllowed]) else {
            return "\"\""
        }
        let text = String(decoding: data, as: UTF8.self)
        return String(text.dropFirst().dropLast())
    }
}
