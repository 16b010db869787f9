import Contracts

/// What the HTTP layer saw for one request.
public enum TransportResult: Sendable, Hashable {
    /// An HTTP response: status, the start of the body, and the Retry-After header if present.
    case response(status: Int, body: [UInt8], retryAfter: String?)
    /// No usable response.
    case failure(TransportFailure)
}

/// Transport failures, already stripped of anything that could hold the URL.
public enum TransportFailure: Sendable, Hashable {
    case timeout
    case connection(detail: String)
    case tls(detail: String)
    case badURL
    /// The server refused the credentials (SMTP `AUTH`).
    case loginDenied
}

/// Turns a transport result into a `DeliveryOutcome`. Pure: `now` comes in as a value.
public struct ResponseClassifier: Sendable {
    /// Used when a 429 has no (readable) Retry-After.
    public var defaultRetryAfterSeconds: Double
    /// Earliest retry after a 5xx, timeout or connection error (retry topics add their own growing delay).
    public var transientBackoffSeconds: Double
    /// Retry-After values are capped at this (a misbehaving server cannot park a destination for days).
    public var maxRetryAfterSeconds: Double

    public init(
        defaultRetryAfterSeconds: Double = 5, transientBackoffSeconds: Double = 1, maxRetryAfterSeconds: Double = 3600
    ) {
        self.defaultRetryAfterSeconds = defaultRetryAfterSeconds
        self.transientBackoffSeconds = transientBackoffSeconds
        self.maxRetryAfterSeconds = maxRetryAfterSeconds
    }

    /// Seconds to pause for a Retry-After header (delta-seconds form; an HTTP date or garbage gives the default).
    public func retryAfterSeconds(_ header: String?) -> Double {
        guard let h = header?.trimmingSpaces, let v = Double(h), v.isFinite, v >= 0 else {
            return defaultRetryAfterSeconds
        }
        return min(v, maxRetryAfterSeconds)
    }

    public func classify(_ result: TransportResult, kind: Destination.Kind, now: Timestamp) -> DeliveryOutcome {
        let backoff = now.adding(milliseconds: Int64(transientBackoffSeconds * 1000))
        switch result {
        case .failure(let f):
            switch f {
            case .timeout: return .retryLater(.timeout, notBefore: backoff)
            case .connection(let d): return .retryLater(.connectionFailed(detail: d), notBefore: backoff)
            case .tls(let d): return .retryLater(.tlsFailed(detail: d), notBefore: backoff)
            case .badURL: return .permanent(.invalidURL)
            case .loginDenied: return .permanent(.smtpLoginDenied)
            }
        case .response(let status, _, _) where kind == .email:
            return classifySMTP(status, now: now)
        case .response(let status, let body, let retryAfter):
            if kind == .slackApp, status == 200 { return classifyWebAPI(body, now: now) }
            let slackError = Self.errorCode(body)
            switch status {
            case 200..<300:
                return .delivered(status: status)
            case 429:
                let s = retryAfterSeconds(retryAfter)
                return .retryLater(
                    .rateLimited(retryAfterSeconds: s), notBefore: now.adding(milliseconds: Int64(s * 1000)))
            case 408, 500..<600:
                return .retryLater(.serverError(status: status), notBefore: backoff)
            case 400:
                guard kind == .slack else { return .permanent(.rejected(status: 400, slackError: slackError)) }
                switch slackError {
                case "invalid_payload": return .permanent(.invalidPayload)
                case "invalid_blocks", "invalid_blocks_format", "invalid_attachments": return .permanent(.invalidBlocks)
                default: return .permanent(.rejected(status: 400, slackError: slackError))
                }
            case 403:
                return .permanent(.forbidden(slackError: slackError))
            case 404:
                guard kind == .slack else { return .permanent(.rejected(status: 404, slackError: slackError)) }
                switch slackError {
                case "channel_not_found": return .permanent(.channelNotFound)
                case "no_service", nil: return .permanent(.noService)
                default: return .permanent(.rejected(status: 404, slackError: slackError))
                }
            case 410:
                guard kind == .slack else { return .permanent(.rejected(status: 410, slackError: slackError)) }
                return slackError == nil || slackError == "channel_is_archived"
                    ? .permanent(.channelIsArchived) : .permanent(.rejected(status: 410, slackError: slackError))
            default:
                return .permanent(.rejected(status: status, slackError: slackError))
            }
        }
    }

    /// An SMTP server's last reply code: 2xx delivered; 4xx (421, 450, 451, 452, ...) a retry;
    /// 5xx (550, 553, 554, ...) permanent; anything else (no reply) a retry as a connection failure.
    public func classifySMTP(_ code: Int, now: Timestamp) -> DeliveryOutcome {
        let backoff = now.adding(milliseconds: Int64(transientBackoffSeconds * 1000))
        switch code {
        case 200..<300: return .delivered(status: code)
        case 400..<500: return .retryLater(.smtpTransient(code: code), notBefore: backoff)
        case 500..<600: return .permanent(.smtpRejected(code: code))
        default:
            return .retryLater(.connectionFailed(detail: "no SMTP reply (code \(code))"), notBefore: backoff)
        }
    }

    /// Slack Web API errors that may pass when tried again; any other `ok: false` is permanent.
    public static let retryableWebAPIErrors: Set<String> = [
        "internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited",
    ]

    /// An HTTP 200 answer of the Slack Web API: `{"ok":true,...}` delivered; `{"ok":false,"error":e}`
    /// a retry for `retryableWebAPIErrors`, else permanent (`channel_not_found`, `is_archived`,
    /// `invalid_blocks` map to their webhook equivalents; `not_in_channel`, `invalid_auth`,
    /// `token_revoked`, `account_inactive`, `msg_too_long`, ... keep Slack's code). A body that is
    /// not a Web API answer is retried (a proxy's page, a cut answer).
    public func classifyWebAPI(_ body: [UInt8], now: Timestamp) -> DeliveryOutcome {
        let backoff = now.adding(milliseconds: Int64(transientBackoffSeconds * 1000))
        guard let answer = WebAPIAnswer(body) else {
            return .retryLater(.slackAPIError(error: "unreadable_answer"), notBefore: backoff)
        }
        if answer.ok { return .delivered(status: 200) }
        let error = answer.error ?? "unknown_error"
        if Self.retryableWebAPIErrors.contains(error) {
            return .retryLater(.slackAPIError(error: error), notBefore: backoff)
        }
        switch error {
        case "channel_not_found": return .permanent(.channelNotFound)
        case "is_archived", "channel_is_archived": return .permanent(.channelIsArchived)
        case "invalid_blocks", "invalid_blocks_format", "invalid_attachments": return .permanent(.invalidBlocks)
        default: return .permanent(.slackAPIError(error: error))
        }
    }

    /// Slack's error code from a short plain-text body such as `channel_is_archived`: only
    /// `[a-z0-9_]`, at most 64 characters, else nil (a body is never echoed as it came).
    static func errorCode(_ body: [UInt8]) -> String? {
        var start = 0
        var end = body.count
        while start < end, body[start] == 0x20 || body[start] == 0x0A || body[start] == 0x0D || body[start] == 0x09 {
            start += 1
        }
        while end > start,
            body[end - 1] == 0x20 || body[end - 1] == 0x0A || body[end - 1] == 0x0D || body[end - 1] == 0x09
        { end -= 1 }
        guard end > start, end - start <= 64 else { return nil }
        for b in body[start..<end] {
            let ok =
                (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9"))
                || b == UInt8(ascii: "_")
            if !ok { return nil }
        }
        return String(decoding: body[start..<end], as: UTF8.self)
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        var s = Substring(self)
        while s.first?.isWhitespace == true { s.removeFirst() }
        while s.last?.isWhitespace == true { s.removeLast() }
        return String(s)
    }
}
