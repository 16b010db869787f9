/// One request the sink received, with its arrival time.
public struct ReceivedRequest: Sendable {
    public var method: String
    /// The request path, e.g. `/services/T000/B001/x`.
    public var path: String
    /// Header names lowercased.
    public var headers: [String: String]
    /// The body (empty when the sink does not record bodies).
    public var body: [UInt8]
    public var bodyLength: Int
    /// Monotonic arrival time in nanoseconds (for spacing).
    public var arrivalNanos: UInt64
    /// Wall-clock arrival, milliseconds since the Unix epoch.
    public var arrivalWallMilliseconds: Int64
    /// Which TCP connection it came on (1, 2, ... in accept order): shows keep-alive reuse.
    public var connectionId: Int
    /// What the sink answered.
    public var response: SinkResponse

    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}
