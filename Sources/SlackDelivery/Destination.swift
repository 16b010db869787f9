/// How fast one destination may be posted to: a token bucket of `burst` tokens refilled at
/// `perSecond` tokens per second. Slack's incoming webhooks allow about 1 message per second with
/// short bursts.
public struct RateLimit: Sendable, Hashable, CustomStringConvertible {
    public var perSecond: Double
    public var burst: Int

    public init(perSecond: Double, burst: Int) {
        self.perSecond = perSecond
        self.burst = burst
    }

    /// 1 message per second, bursts of 3.
    public static let slackDefault = RateLimit(perSecond: 1, burst: 3)

    public var description: String { "\(perSecond)/s burst \(burst)" }
}

/// A named place alerts are posted to. Referred to by `name` everywhere; the URL is a secret.
public struct Destination: Sendable, Hashable, CustomStringConvertible {
    /// What the destination speaks.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// A Slack incoming webhook: Block Kit body, answers `ok` or a Slack error code.
        case slack
        /// A generic JSON webhook (CRM sync, automation): the alert record as JSON, optionally signed.
        case webhook
        /// A Slack app (bot token): `chat.postMessage` to one channel, each message carrying its
        /// alert ids in Slack message metadata, so an alert in doubt after a crash can be looked up
        /// with `conversations.history` instead of being posted again (exactly once).
        case slackApp = "slack_app"
        /// Email over SMTP (libcurl): a `multipart/alternative` message with a plain-text and an
        /// HTML part to fixed recipients, STARTTLS required (`EmailSettings`).
        case email
    }

    public var name: String
    public var kind: Kind
    public var url: WebhookURL
    public var rateLimit: RateLimit
    /// For `webhook` destinations: signs each body with HMAC-SHA256 (`X-Fleet-Signature`).
    public var signingSecret: SigningSecret?
    /// For `slack_app` destinations: the bot token, sent only as `Authorization: Bearer`.
    public var botToken: BotToken?
    /// For `slack_app` destinations: the channel id (`C...`) posted to and looked up in.
    public var channel: String?
    /// For `email` destinations: the addresses, credentials and TLS requirement (`url` is the
    /// SMTP server, `smtp://` or `smtps://`).
    public var email: EmailSettings?
    /// The currency of MRR and of amounts whose record names none (the file's `currency`).
    public var currency: Currency = .usd
    /// The destination's own wording of message parts (the file's `templates`).
    public var templates = MessageTemplates()

    public init(
        name: String, kind: Kind = .slack, url: WebhookURL, rateLimit: RateLimit = .slackDefault,
        signingSecret: SigningSecret? = nil
    ) {
        self.name = name
        self.kind = kind
        self.url = url
        self.rateLimit = rateLimit
        self.signingSecret = signingSecret
    }

    /// A Slack app destination: `chat.postMessage` to `channel` with `token`; `apiURL` is the Web
    /// API's base (`https://slack.com/api`; a local sink's `http://127.0.0.1:<port>/api` in tests).
    public init(
        name: String, apiURL: WebhookURL, token: BotToken, channel: String, rateLimit: RateLimit = .slackDefault
    ) {
        self.init(name: name, kind: .slackApp, url: apiURL, rateLimit: rateLimit)
        self.botToken = token
        self.channel = channel
    }

    /// An email destination: the SMTP server `smtpURL` (from `WebhookURL.validateSMTP`) and `email`.
    public init(name: String, smtpURL: WebhookURL, email: EmailSettings, rateLimit: RateLimit = .slackDefault) {
        self.init(name: name, kind: .email, url: smtpURL, rateLimit: rateLimit)
        self.email = email
    }

    /// Builds a destination from a URL text, validating it (https unless `allowInsecureHTTP`).
    /// The thrown error names the destination, never the URL.
    public init(
        name: String, kind: Kind = .slack, url text: String, allowInsecureHTTP: Bool = false,
        rateLimit: RateLimit = .slackDefault, signingSecret: SigningSecret? = nil
    ) throws(SlackDeliveryError) {
        switch WebhookURL.validate(text, allowInsecureHTTP: allowInsecureHTTP) {
        case .success(let url):
            self.init(name: name, kind: kind, url: url, rateLimit: rateLimit, signingSecret: signingSecret)
        case .failure(let problem):
            throw .configInvalid(
                file: "<code>", key: "destinations.\(name).url", line: nil, problem: problem.description)
        }
    }

    public var description: String { "Destination(\(name), \(kind.rawValue), \(rateLimit))" }
}
