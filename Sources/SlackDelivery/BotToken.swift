/// A Slack bot token (`xoxb-...`): a secret. Its text is readable only inside this module (by the
/// HTTP engine, which sends it as `Authorization: Bearer`); every printed, dumped or reflected form
/// is redacted, so it cannot reach a log line, a metric, an error or a record by accident.
public struct BotToken: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The secret text. Module-internal on purpose.
    let secret: String

    /// Wraps a token text (from `${SLACK_BOT_TOKEN}`).
    public init(_ text: String) { secret = text }

    public var description: String { "<redacted token>" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}
