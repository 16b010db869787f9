/// Where a message posted through the Web API is: its channel id and its `ts`, which Slack uses
/// as the message's id. Edits (`chat.update`) and thread replies (`thread_ts`) name it.
///
/// Both parts come from outside (Slack's answer, the delivery log read back) and are checked:
/// a channel id is 1 to 32 characters of `A-Z0-9`, a `ts` is digits, a dot and digits (at most 32
/// characters). Anything else is not a message reference (`init?` fails), so neither is ever
/// echoed into a request as it came.
public struct PostedMessage: Sendable, Hashable, CustomStringConvertible {
    public let channel: String
    public let ts: String
    /// The message carries other alerts too (alerts about one account grouped into one message):
    /// an edit of one of them changes its header and state line and keeps the message's details.
    public var grouped = false

    /// Nil unless both parts are well formed.
    public init?(channel: String, ts: String) {
        guard Self.isChannelId(channel), Self.isTimestamp(ts) else { return nil }
        self.channel = channel
        self.ts = ts
    }

    public var description: String { "\(channel)/\(ts)" }

    static func isChannelId(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return (1...32).contains(bytes.count)
            && bytes.allSatisfy { ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z")) || isDigit($0) }
    }

    static func isTimestamp(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard (3...32).contains(bytes.count), let dot = bytes.firstIndex(of: UInt8(ascii: ".")) else { return false }
        let whole = bytes[..<dot]
        let fraction = bytes[(dot + 1)...]
        return !whole.isEmpty && !fraction.isEmpty && whole.allSatisfy(isDigit) && fraction.allSatisfy(isDigit)
    }

    private static func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
}
