/// How the sink answers one request, like a Slack incoming webhook would.
public indirect enum SinkResponse: Sendable, Hashable, CustomStringConvertible {
    /// 200 `ok`.
    case ok
    /// 429 `rate_limited` with `Retry-After: seconds`.
    case rateLimited(retryAfterSeconds: Int)
    /// 400 `invalid_blocks`.
    case invalidBlocks
    /// 400 `invalid_payload`.
    case invalidPayload
    /// 403 `action_prohibited`.
    case forbidden
    /// 404 `no_service`.
    case noService
    /// 404 `channel_not_found`.
    case channelNotFound
    /// 410 `channel_is_archived`.
    case channelIsArchived
    /// 500 `internal_error`.
    case serverError
    /// Answers `then` after `milliseconds`.
    case delayed(milliseconds: Int, then: SinkResponse)
    /// Never answers (the client times out).
    case noResponse
    /// Any status, body and headers.
    case custom(status: Int, body: String, headers: [String: String])
    /// A Slack Web API refusal: 200 `{"ok":false,"error":"<error>"}` (`channel_not_found`,
    /// `not_in_channel`, `invalid_auth`, `internal_error`, ...). On a webhook path it is the same body.
    case apiError(String)

    /// Status, body and headers sent (nil for `noResponse`).
    var wire: (status: Int, body: String, headers: [String: String])? {
        switch self {
        case .ok: (200, "ok", [:])
        case .rateLimited(let s): (429, "rate_limited", ["Retry-After": "\(s)"])
        case .invalidBlocks: (400, "invalid_blocks", [:])
        case .invalidPayload: (400, "invalid_payload", [:])
        case .forbidden: (403, "action_prohibited", [:])
        case .noService: (404, "no_service", [:])
        case .channelNotFound: (404, "channel_not_found", [:])
        case .channelIsArchived: (410, "channel_is_archived", [:])
        case .serverError: (500, "internal_error", [:])
        case .delayed(_, let then): then.wire
        case .noResponse: nil
        case .custom(let status, let body, let headers): (status, body, headers)
        case .apiError(let e):
            (200, #"{"ok":false,"error":"\#(e)"}"#, ["Content-Type": "application/json; charset=utf-8"])
        }
    }

    /// The status this response ends in (0 for `noResponse`).
    public var status: Int { wire?.status ?? 0 }

    public var description: String {
        switch self {
        case .delayed(let ms, let then): "\(then) after \(ms) ms"
        case .noResponse: "no response"
        default: "\(status) \(wire?.body ?? "")"
        }
    }
}
