/// One request to a route, read whole (its body is capped by the listener's `HTTPLimits`).
public struct HTTPRequest: Sendable, Equatable {
    /// The method, e.g. `GET`.
    public var method: String
    /// The path, without the query.
    public var path: String
    /// The query string (after `?`, without it; empty when none).
    public var query: String
    /// The `content-type` header, when sent.
    public var contentType: String?
    /// The body (empty for a GET).
    public var body: [UInt8]
    /// The headers, by lowercased name (the first value of a repeated one).
    public var headers: [String: String]

    /// A request from its parts.
    public init(
        method: String, path: String, query: String = "", contentType: String? = nil, body: [UInt8] = [],
        headers: [String: String] = [:]
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.contentType = contentType
        self.body = body
        self.headers = headers
    }
}

/// A short answer of a route.
public struct HTTPReply: Sendable, Equatable {
    /// The HTTP status code, e.g. 200.
    public var status: Int
    /// The `content-type` header, e.g. `text/html; charset=utf-8`.
    public var contentType: String
    /// The whole body.
    public var body: String
    /// Extra headers, e.g. `allow` on a 405.
    public var headers: [String: String]

    /// A reply from its parts.
    public init(status: Int, contentType: String, body: String, headers: [String: String] = [:]) {
        self.status = status
        self.contentType = contentType
        self.body = body
        self.headers = headers
    }

    /// 405 with the `allow` header listing `allowed`.
    public static func methodNotAllowed(_ allowed: [String]) -> HTTPReply {
        HTTPReply(
            status: 405, contentType: "text/plain", body: "method not allowed\n",
            headers: ["allow": allowed.joined(separator: ", ")])
    }
}

/// A path an `HTTPListener` serves (the health listener's `/healthz`, the dispatcher's
/// `/feedback` on its own listener). The responder is called on the listener's event loop once
/// the whole request has arrived, and must not block it: it answers through `reply`, exactly once,
/// from any thread (the listener hops back to its loop).
public struct HTTPRoute: Sendable {
    /// Answers one request through `reply`.
    public typealias Responder =
        @Sendable (_ request: HTTPRequest, _ reply: @escaping @Sendable (HTTPReply) -> Void) -> Void
    /// Answers one request from its method and query string only.
    public typealias Handler =
        @Sendable (_ method: String, _ query: String, _ reply: @escaping @Sendable (HTTPReply) -> Void) -> Void

    /// The exact path served (`/feedback`); `/feedback/` is served too.
    public let path: String
    /// What answers it.
    public let respond: Responder

    /// A route for `path` answered by `respond`.
    public init(path: String, respond: @escaping Responder) {
        self.path = path
        self.respond = respond
    }

    /// A route for `path` that needs only the method and the query string.
    public init(path: String, handle: @escaping Handler) {
        self.init(path: path, respond: { request, reply in handle(request.method, request.query, reply) })
    }

    /// Whether a request path is this route's (with or without one trailing slash).
    public func matches(_ requestPath: String) -> Bool {
        requestPath == path || requestPath == path + "/"
    }
}
