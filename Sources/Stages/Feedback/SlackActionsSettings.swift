import SlackDelivery
import WorkerRuntime

/// The dispatcher's lifecycle buttons, from its environment: when `SLACK_SIGNING_SECRET` is set
/// (the Slack app's signing secret, from a Secret), each alert message carries the buttons of
/// `AlertActionsBlock` and the feedback listener (`FEEDBACK_PORT`, `FEEDBACK_HOST`) serves
/// `/slack/actions` (`SlackActionsEndpoint`), the app's interactivity request URL.
///
/// | variable | meaning | default |
/// |---|---|---|
/// | `SLACK_SIGNING_SECRET` | the Slack app's signing secret (Basic Information, App Credentials), from a Secret; never logged | unset: no buttons, no `/slack/actions` |
public struct SlackActionsSettings: Sendable, CustomStringConvertible {
    /// Verifies Slack's request signatures.
    public let verifier: SlackRequestVerifier

    /// Shortest signing secret accepted (characters): Slack's are 32 hex digits.
    public static let minimumSecretLength = 32
    /// Largest request body of the feedback listener when the buttons are on: Slack's interaction
    /// requests carry the whole message (the worker's `HTTP_MAX_BODY_BYTES` is 16 KiB).
    public static let maxBodyBytes = SlackInteraction.maxBodyBytes

    /// Settings verifying with `secret`.
    public init(secret: SigningSecret) {
        verifier = SlackRequestVerifier(secret: secret)
    }

    /// Without the secret.
    public var description: String { "alert lifecycle buttons answered at \(SlackActionsEndpoint.path) (\(verifier))" }

    /// The variables `--help` lists.
    public static let variables: [(name: String, meaning: String)] = [
        (
            "SLACK_SIGNING_SECRET",
            "the Slack app's signing secret, from a Secret: alerts carry Acknowledge / I'll take it / Snooze / Resolve buttons, answered at /slack/actions on FEEDBACK_PORT (default unset: none; never logged)"
        )
    ]

    /// The settings, or nil when the buttons are off (`SLACK_SIGNING_SECRET` unset or empty). A
    /// short secret is refused, naming the variable and never the value.
    public static func fromEnvironment(_ env: [String: String]) throws(WorkerError) -> SlackActionsSettings? {
        guard let secret = env["SLACK_SIGNING_SECRET"], !secret.isEmpty else { return nil }
        guard secret.count >= minimumSecretLength else {
            throw .configuration(
                source: "environment", key: "SLACK_SIGNING_SECRET",
                reason: "too short: at least \(minimumSecretLength) characters (its value is not shown)")
        }
        return SlackActionsSettings(secret: SigningSecret(secret))
    }
}
