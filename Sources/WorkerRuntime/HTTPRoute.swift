/// A short answer of an extra route on the worker's HTTP port.
public struct HTTPReply: Sendable, Equatable {
    /// The HTTP status code, e.g. 200.
    public var status: Int
    /// The `content-type` header, e.g. `text/html; charset=utf-8`.
    public var contentType: String
    /// The whole body.
    public var body: String

    /// A reply from its parts.
    public init(status: Int, contentType: String, body: String) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }
}

/// A path the worker's HTTP port serves besides `/healthz`, `/readyz` and `/metrics` (the
/// dispatcher's `/feedback`). The handler is called on the HTTP event loop and must not block it:
/// it answers through `reply`, exactly once, from any thread (the server hops back to its loop).
/// Its answers are never cached and send no referrer (the URL may carry a signature).
public struct HTTPRoute: Sendable {
    /// Answers one request: its method (`GET`, ...), its query string (after `?`, without it;
    /// empty when none) and the way to answer.
    public typealias Handler = @Sendable (_ method: String, _ query: String, _ reply: @escaping @Sendable (HTTPReply) -> Void) -> Void

    /// The exact path served (`/feedback`); `/feedback/` is served too.
    public let path: String
    /// What answers it.
    public let handle: Handler

    /// A route for `path`.
    public init(path: String, handle: @escaping Handler) {
        self.path = path
        self.handle = handle
    }

    /// Whether a request path is this route's (with or without one trailing slash).
    public func matches(_ requestPath: String) -> Bool {
        requestPath == path || requestPath == path + "/"
    }
}
