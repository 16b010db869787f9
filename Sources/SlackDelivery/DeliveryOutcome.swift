import Contracts

/// What happened to one delivery, in terms a caller can act on:
/// `delivered` (log it), `retryLater` (route to a retry topic, not before `notBefore`),
/// `permanent` (dead-letter it with the reason). Never holds a URL.
public enum DeliveryOutcome: Sendable, Hashable, CustomStringConvertible {
    /// The destination accepted the message (Slack answered 200 `ok`).
    case delivered(status: Int)
    /// Try again, no earlier than `notBefore`.
    case retryLater(RetryReason, notBefore: Timestamp)
    /// Retrying cannot help; the reason says what to fix.
    case permanent(PermanentReason)

    public var isDelivered: Bool { if case .delivered = self { return true } else { return false } }

    /// A short machine code for logs, metrics labels and DLT headers, e.g. `delivered`,
    /// `rate_limited`, `channel_is_archived`.
    public var code: String {
        switch self {
        case .delivered: "delivered"
        case .retryLater(let r, _): r.code
        case .permanent(let r): r.code
        }
    }

    public var description: String {
        switch self {
        case .delivered(let status): "delivered (HTTP \(status))"
        case .retryLater(let r, let notBefore): "retry later: \(r) (not before \(notBefore.rfc3339))"
        case .permanent(let r): "permanent failure: \(r)"
        }
    }
}

/// Why a delivery should be retried.
public enum RetryReason: Sendable, Hashable, CustomStringConvertible {
    /// 429: the destination is paused for `retryAfterSeconds`.
    case rateLimited(retryAfterSeconds: Double)
    /// 5xx (or 408) from the destination.
    case serverError(status: Int)
    /// The connect or total timeout passed. The destination may or may not have received it.
    case timeout
    /// Could not connect, resolve, send or receive. `detail` is libcurl's generic text for the
    /// error code, never the URL.
    case connectionFailed(detail: String)
    /// The TLS handshake or certificate check failed (verification is always on).
    case tlsFailed(detail: String)
    /// Held locally: the destination's queue is full or it is paused longer than the engine holds
    /// messages; the caller should park it and come back at `notBefore`.
    case backlogged
    /// The alert's own `not_before` (quiet hours) has not come yet.
    case notYetDue
    /// The deliverer is shutting down; the message was not sent.
    case shuttingDown
    /// A Slack Web API answer `{"ok":false,"error":...}` that may pass (`internal_error`,
    /// `fatal_error`, `service_unavailable`, `request_timeout`, `ratelimited`); `error` is Slack's
    /// code (`[a-z0-9_]`).
    case slackAPIError(error: String)
    /// Its `DeliveryCancellation` was cancelled before it started (its partition went to another
    /// owner); the message was not sent.
    case withdrawn
    /// An SMTP server's transient refusal (4xx: 421 service not available, 450 mailbox busy, 451
    /// local error, 452 insufficient storage): the message was not accepted; try again.
    case smtpTransient(code: Int)

    public var code: String {
        switch self {
        case .smtpTransient(let c): "smtp_\(c)"
        case .rateLimited: "rate_limited"
        case .serverError(let s): "http_\(s)"
        case .timeout: "timeout"
        case .connectionFailed: "connection_failed"
        case .tlsFailed: "tls_failed"
        case .backlogged: "backlogged"
        case .notYetDue: "not_yet_due"
        case .shuttingDown: "shutting_down"
        case .slackAPIError(let e): e
        case .withdrawn: "withdrawn"
        }
    }

    public var description: String {
        switch self {
        case .rateLimited(let s): "rate limited (429, Retry-After \(s)s)"
        case .serverError(let s): "server error (HTTP \(s))"
        case .timeout: "timeout"
        case .connectionFailed(let d): "connection failed: \(d)"
        case .tlsFailed(let d): "TLS failed: \(d)"
        case .backlogged: "destination backlogged (paused or queue full)"
        case .notYetDue: "not yet due"
        case .shuttingDown: "deliverer shutting down"
        case .slackAPIError(let e): "Slack Web API error \(e)"
        case .withdrawn: "withdrawn before it was sent"
        case .smtpTransient(let c): "SMTP server answered \(c) (transient)"
        }
    }
}

/// Why a delivery can never succeed as it is.
public enum PermanentReason: Sendable, Hashable, CustomStringConvertible {
    /// 400 `invalid_payload`: the body is not a valid message.
    case invalidPayload
    /// 400 `invalid_blocks` (or `invalid_blocks_format`, `invalid_attachments`): Block Kit rejected.
    case invalidBlocks
    /// 403 (`action_prohibited`, `posting_to_general_channel_denied`, ...): not allowed to post.
    case forbidden(slackError: String?)
    /// 404 `no_service`: the webhook was revoked or never existed.
    case noService
    /// 404 `channel_not_found`.
    case channelNotFound
    /// 410 `channel_is_archived`.
    case channelIsArchived
    /// Any other 4xx (or an unexpected 3xx/1xx), with Slack's error code when it sent one.
    case rejected(status: Int, slackError: String?)
    /// No destination of that name is configured.
    case unknownDestination(name: String)
    /// libcurl refused the URL (bad format or protocol).
    case invalidURL
    /// The alert could not be turned into a body.
    case renderFailed(detail: String)
    /// A Slack Web API answer `{"ok":false,"error":...}` that retrying cannot fix
    /// (`not_in_channel`, `invalid_auth`, `token_revoked`, `msg_too_long`, ...); `error` is Slack's
    /// code (`[a-z0-9_]`), used as the dead letter's code.
    case slackAPIError(error: String)
    /// An SMTP server's permanent refusal (5xx: 550 mailbox unavailable, 553 address not allowed,
    /// 554 transaction failed): a recipient or the sender must be fixed.
    case smtpRejected(code: Int)
    /// The SMTP server refused the credentials (`AUTH`): the Secret must be fixed.
    case smtpLoginDenied

    public var code: String {
        switch self {
        case .smtpRejected(let c): "smtp_\(c)"
        case .smtpLoginDenied: "smtp_login_denied"
        case .invalidPayload: "invalid_payload"
        case .invalidBlocks: "invalid_blocks"
        case .forbidden: "forbidden"
        case .noService: "no_service"
        case .channelNotFound: "channel_not_found"
        case .channelIsArchived: "channel_is_archived"
        case .rejected(let s, _): "http_\(s)"
        case .unknownDestination: "unknown_destination"
        case .invalidURL: "invalid_url"
        case .renderFailed: "render_failed"
        case .slackAPIError(let e): e
        }
    }

    public var description: String {
        switch self {
        case .invalidPayload: "400 invalid_payload"
        case .invalidBlocks: "400 invalid_blocks"
        case .forbidden(let e): "403 forbidden\(e.map { " (\($0))" } ?? "")"
        case .noService: "404 no_service (webhook revoked or unknown)"
        case .channelNotFound: "404 channel_not_found"
        case .channelIsArchived: "410 channel_is_archived"
        case .rejected(let s, let e): "HTTP \(s)\(e.map { " (\($0))" } ?? "")"
        case .unknownDestination(let n): "no destination named '\(n)' is configured"
        case .invalidURL: "the destination URL was refused by libcurl"
        case .renderFailed(let d): "could not render the alert: \(d)"
        case .slackAPIError(let e): "Slack Web API error \(e)"
        case .smtpRejected(let c): "SMTP server answered \(c) (permanent)"
        case .smtpLoginDenied: "SMTP login denied (check the username and password Secret)"
        }
    }
}
