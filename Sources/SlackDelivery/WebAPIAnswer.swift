/// The head of a Slack Web API answer: `ok` and, when false, `error`. Read with a small scanner
/// that needs only the start of the body (Slack writes `ok` first; a `chat.postMessage` answer
/// echoes the whole message, which the engine may cut). An error code is kept only if it is
/// `[a-z0-9_]` and at most 64 characters, so a body is never echoed as it came.
struct WebAPIAnswer: Sendable, Hashable {
    var ok: Bool
    var error: String?

    init(ok: Bool, error: String?) {
        self.ok = ok
        self.error = error
    }

    /// Nil when the body has no top-level-looking `"ok": true|false`.
    init?(_ body: [UInt8]) {
        guard let okAt = Self.valueStart(of: "ok", in: body) else { return nil }
        if Self.hasPrefix(body, at: okAt, "true") {
            ok = true
        } else if Self.hasPrefix(body, at: okAt, "false") {
            ok = false
        } else {
            return nil
        }
        error = nil
        if !ok, let at = Self.valueStart(of: "error", in: body), at < body.count, body[at] == UInt8(ascii: "\"") {
            var end = at + 1
            while end < body.count, end - at <= 65, Self.isCodeByte(body[end]) { end += 1 }
            if end < body.count, body[end] == UInt8(ascii: "\""), end > at + 1 {
                error = String(decoding: body[(at + 1)..<end], as: UTF8.self)
            }
        }
    }

    /// The message a `chat.postMessage` or `chat.update` answer names (its top-level `channel` and
    /// `ts`, the first of each in the body), nil if either is missing or not well formed.
    static func postedMessage(_ body: [UInt8]) -> PostedMessage? {
        guard let channel = shortString(of: "channel", in: body), let ts = shortString(of: "ts", in: body) else {
            return nil
        }
        return PostedMessage(channel: channel, ts: ts)
    }

    /// The string value of the first `"name":` in `body`, if it is at most 32 bytes of
    /// `[A-Za-z0-9._]`; nil otherwise (never echoed as it came).
    static func shortString(of name: String, in body: [UInt8]) -> String? {
        guard let at = valueStart(of: name, in: body), at < body.count, body[at] == UInt8(ascii: "\"") else {
            return nil
        }
        var end = at + 1
        while end < body.count, end - at <= 33,
            isCodeByte(body[end]) || body[end] == UInt8(ascii: ".")
                || (body[end] >= UInt8(ascii: "A") && body[end] <= UInt8(ascii: "Z"))
        { end += 1 }
        guard end < body.count, body[end] == UInt8(ascii: "\""), end > at + 1 else { return nil }
        return String(decoding: body[(at + 1)..<end], as: UTF8.self)
    }

    static func isCodeByte(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9"))
            || b == UInt8(ascii: "_")
    }

    /// Index of the first non-space byte after `"name":`, the first occurrence.
    static func valueStart(of name: String, in body: [UInt8]) -> Int? {
        let pattern = Array("\"\(name)\"".utf8)
        guard body.count >= pattern.count else { return nil }
        var i = 0
        while i + pattern.count <= body.count {
            if body[i] == pattern[0], Array(body[i..<(i + pattern.count)]) == pattern {
                var j = i + pattern.count
                while j < body.count, body[j] == 0x20 || body[j] == 0x0A || body[j] == 0x0D || body[j] == 0x09 {
                    j += 1
                }
                if j < body.count, body[j] == UInt8(ascii: ":") {
                    j += 1
                    while j < body.count, body[j] == 0x20 || body[j] == 0x0A || body[j] == 0x0D || body[j] == 0x09 {
                        j += 1
                    }
                    return j
                }
            }
            i += 1
        }
        return nil
    }

    static func hasPrefix(_ body: [UInt8], at i: Int, _ text: String) -> Bool {
        let t = Array(text.utf8)
        return i + t.count <= body.count && Array(body[i..<(i + t.count)]) == t
    }
}
