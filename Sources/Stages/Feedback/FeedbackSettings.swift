import SlackDelivery
import WorkerRuntime

/// The dispatcher's feedback links, from its environment: when `FEEDBACK_BASE_URL` and
/// `FEEDBACK_SECRET` are both set, each alert message carries "Useful" / "Not useful" buttons to
/// signed URLs served at `/feedback` on the dispatcher's feedback listener, a port of its own
/// (`FEEDBACK_PORT`) apart from `/healthz`, `/readyz` and `/metrics` on `HTTP_PORT`: only that port
/// is exposed to browsers (the chart's feedback Service and Ingress), and a flood on it never
/// reaches the probes.
///
/// | variable | meaning | default |
/// |---|---|---|
/// | `FEEDBACK_BASE_URL` | the public URL the dispatcher's `/feedback` path is reached at, e.g. `https://fleet.example.com/feedback` (the path may be left off) | unset: no buttons |
/// | `FEEDBACK_SECRET` | the HMAC key of the links (from a Secret, at least 32 characters); never logged | unset: no buttons |
/// | `FEEDBACK_SECRET_PREVIOUS` | during a rotation, the secret before `FEEDBACK_SECRET`: links signed with it are still accepted (new links are signed with `FEEDBACK_SECRET` only); never logged | unset |
/// | `FEEDBACK_LINK_TTL` | how long a link works after the alert is delivered: `<n>d`, `<n>h` or `<n>m`, at most 90d | `14d` |
/// | `FEEDBACK_PORT` | port of the feedback listener (`/feedback` only), not `HTTP_PORT`; 0 picks a free one (logged as `feedback_port`) | 8081 |
/// | `FEEDBACK_HOST` | address the feedback listener binds | `HTTP_HOST`, else `0.0.0.0` |
///
/// The secrets are held only inside the `FeedbackLinkSigner` (redacted in every description).
///
/// The lifetime is capped at `maximumLifetimeMs` (90 days) because the memory of used links is the
/// `alert-feedback` topic itself (`FeedbackLedger`): a link must expire before its record can leave
/// the topic, and `topics/topics.yaml` keeps `alert-feedback` a year (`minimumFeedbackRetentionMs`;
/// a test holds the catalog to it). A longer lifetime is refused at start.
public struct FeedbackSettings: Sendable, CustomStringConvertible {
    /// Signs and verifies the links.
    public let signer: FeedbackLinkSigner
    /// Port of the feedback listener (0: a free one).
    public let port: Int
    /// Address the feedback listener binds.
    public let host: String

    /// Default port of the feedback listener.
    public static let defaultPort = 8081

    /// Shortest secret accepted (characters): a short key is guessable offline from one link.
    public static let minimumSecretLength = 32
    /// Default link lifetime: 14 days.
    public static let defaultLifetimeMs: Int64 = 14 * 86_400_000
    /// Longest link lifetime accepted: 90 days, under the retention of `alert-feedback`.
    public static let maximumLifetimeMs: Int64 = 90 * 86_400_000
    /// The retention `alert-feedback` must have at least (the catalog keeps a year): longer than
    /// any link lives, so the record of a used link outlives the link.
    public static let minimumFeedbackRetentionMs: Int64 = maximumLifetimeMs

    /// Settings signing with `secret` under `baseURL` (a trailing `/feedback` is dropped: the
    /// signer appends the path itself).
    public init(
        baseURL: String, secret: SigningSecret, previousSecret: SigningSecret? = nil,
        lifetimeMs: Int64 = FeedbackSettings.defaultLifetimeMs,
        port: Int = FeedbackSettings.defaultPort, host: String = "0.0.0.0"
    ) {
        self.port = port
        self.host = host
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        if base.hasSuffix(FeedbackLink.path) { base.removeLast(FeedbackLink.path.count) }
        signer = FeedbackLinkSigner(
            baseURL: base, secret: secret, previousSecret: previousSecret, lifetimeMs: lifetimeMs)
    }

    /// The settings in words, without the secret.
    public var description: String {
        "feedback links under \(signer.baseURL)\(FeedbackLink.path), valid \(signer.lifetimeMs / 3_600_000) h, served on \(host):\(port)"
            + (signer.acceptsPreviousSecret ? ", also accepting the previous secret" : "")
    }

    /// The variables `--help` lists.
    public static let variables: [(name: String, meaning: String)] = [
        (
            "FEEDBACK_BASE_URL",
            "public URL of the dispatcher's /feedback path, e.g. https://fleet.example.com/feedback; with FEEDBACK_SECRET, alerts carry Useful / Not useful buttons (default unset: none)"
        ),
        (
            "FEEDBACK_SECRET",
            "HMAC key of the feedback links, from a Secret (at least \(minimumSecretLength) characters; never logged)"
        ),
        (
            "FEEDBACK_SECRET_PREVIOUS",
            "during a rotation, the previous FEEDBACK_SECRET: links signed with it still work, new links use FEEDBACK_SECRET (optional; never logged)"
        ),
        (
            "FEEDBACK_LINK_TTL",
            "how long a feedback link works after delivery: <n>d, <n>h or <n>m, at most 90d, under alert-feedback's retention (default 14d)"
        ),
        (
            "FEEDBACK_PORT, FEEDBACK_HOST",
            "the feedback listener: /feedback only, apart from HTTP_PORT; port 0 picks a free one and logs it (default \(defaultPort), HTTP_HOST)"
        ),
    ]

    /// The settings, or nil when feedback is off (`FEEDBACK_BASE_URL` unset or empty). A base URL
    /// without a secret, a short secret, a bad URL or a bad lifetime is refused, naming the
    /// variable and never the secret's value.
    public static func fromEnvironment(_ env: [String: String]) throws(WorkerError) -> FeedbackSettings? {
        let lifetime = try lifetimeMs(env["FEEDBACK_LINK_TTL"])
        guard let base = env["FEEDBACK_BASE_URL"], !base.isEmpty else { return nil }
        let lower = base.lowercased()
        guard lower.hasPrefix("https://") || lower.hasPrefix("http://"), !base.contains("?"), !base.contains("#"),
            SlackText.isSafeURL(base + FeedbackLink.path)
        else {
            throw .configuration(
                source: "environment", key: "FEEDBACK_BASE_URL",
                reason: "\"\(base.prefix(200))\" is not an http(s) URL without query or fragment")
        }
        guard let secret = env["FEEDBACK_SECRET"], !secret.isEmpty else {
            throw .configuration(
                source: "environment", key: "FEEDBACK_SECRET",
                reason: "missing: FEEDBACK_BASE_URL is set, so the links need their signing key (from a Secret)")
        }
        guard secret.count >= minimumSecretLength else {
            throw .configuration(
                source: "environment", key: "FEEDBACK_SECRET",
                reason: "too short: at least \(minimumSecretLength) characters (its value is not shown)")
        }
        var previous: SigningSecret?
        if let old = env["FEEDBACK_SECRET_PREVIOUS"], !old.isEmpty {
            guard old.count >= minimumSecretLength else {
                throw .configuration(
                    source: "environment", key: "FEEDBACK_SECRET_PREVIOUS",
                    reason: "too short: at least \(minimumSecretLength) characters (its value is not shown)")
            }
            if old != secret { previous = SigningSecret(old) }
        }
        let port = try listenerPort(env)
        let host = env["FEEDBACK_HOST"].flatMap { $0.isEmpty ? nil : $0 } ?? env["HTTP_HOST"] ?? "0.0.0.0"
        return FeedbackSettings(
            baseURL: base, secret: SigningSecret(secret), previousSecret: previous,
            lifetimeMs: lifetime, port: port, host: host)
    }

    /// `FEEDBACK_PORT`: 0...65535, and not the health port (`HTTP_PORT`, default 8080) unless both
    /// pick a free one.
    static func listenerPort(_ env: [String: String]) throws(WorkerError) -> Int {
        guard let text = env["FEEDBACK_PORT"], !text.isEmpty else { return defaultPort }
        guard let port = Int(text), (0...65535).contains(port) else {
            throw .configuration(
                source: "environment", key: "FEEDBACK_PORT",
                reason: "\"\(text.prefix(40))\" is not a whole number in 0...65535")
        }
        let healthPort = env["HTTP_PORT"].flatMap { Int($0) } ?? 8080
        guard port == 0 || port != healthPort else {
            throw .configuration(
                source: "environment", key: "FEEDBACK_PORT",
                reason: "\(port) is HTTP_PORT too: the feedback links need a port of their own, "
                    + "apart from the probes and metrics")
        }
        return port
    }

    /// `FEEDBACK_LINK_TTL` in ms: `<n>d`, `<n>h` or `<n>m`, from 1 minute to 90 days
    /// (`maximumLifetimeMs`: a used link's record must outlive the link on `alert-feedback`).
    static func lifetimeMs(_ text: String?) throws(WorkerError) -> Int64 {
        guard let text, !text.isEmpty else { return defaultLifetimeMs }
        let unit: Int64? =
            switch text.last {
            case "d": 86_400_000
            case "h": 3_600_000
            case "m": 60_000
            default: nil
            }
        guard let unit, let n = Int64(text.dropLast()), n > 0 else {
            throw .configuration(
                source: "environment", key: "FEEDBACK_LINK_TTL",
                reason: "\"\(text.prefix(40))\" is not a lifetime such as 14d, 36h or 90m (1m...90d)")
        }
        guard n <= maximumLifetimeMs / unit else {
            throw .configuration(
                source: "environment", key: "FEEDBACK_LINK_TTL",
                reason:
                    "\"\(text.prefix(40))\" is longer than 90d: the record of a used link must outlive the link on alert-feedback (retention a year), or a replay could pass after the record is deleted"
            )
        }
        return n * unit
    }
}
