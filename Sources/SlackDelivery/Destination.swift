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
    }

    public var name: String
    public var kind: Kind
    public var url: WebhookURL
    public var rateLimit: RateLimit
    /// For `webhook` destinations: signs each body with HMAC-SHA256 (`X-Fleet-Signature`).
    public var signingSecret: SigningSecret?

    public init(name: String, kind: Kind = .slack, url: WebhookURL, rateLimit: RateLimit = .slackDefault, signingSecret: SigningSecret? = nil) {
        self.name = name
        self.kind = kind
        self.url = url
        self.rateLimit = rateLimit
        self.signingSecret = signingSecret
    }

    /// Builds a destination from a URL text, validating it (https unless `allowInsecureHTTP`).
    /// The thrown error names the destination, never the URL.
    public init(name: String, kind: Kind = .slack, url text: String, allowInsecureHTTP: Bool = false, rateLimit: RateLimit = .slackDefault, signingSecret: SigningSecret? = nil) throws(SlackDeliveryError) {
        switch WebhookURL.validate(text, allowInsecureHTTP: allowInsecureHTTP) {
        case let .success(url):
            self.init(name: name, kind: kind, url: url, rateLimit: rateLimit, signingSecret: signingSecret)
        case let .failure(problem):
            throw .configInvalid(file: "<code>", key: "destinations.\(name).url", line: nil, problem: problem.description)
        }
    }

    public var description: String { "Destination(\(name), \(kind.rawValue), \(rateLimit))" }
}
