import NIOCore
import NIOHTTP1

/// The pipeline of one accepted connection, and the handler at its end that holds the limits and
/// routes the request.
///
/// `IdleStateHandler` (idle timeout) -> `RequestByteCap` (raw bytes) -> the HTTP/1 decoder (header
/// limit) and encoder -> `HTTPConnection` (request timeout, body limit, routing, the one answer).
final class HTTPConnection: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// Adds the connection's handlers to a freshly accepted channel (on its event loop).
    static func configure(
        _ pipeline: ChannelPipeline.SynchronousOperations, limits: HTTPLimits, tally: HTTPListenerTally,
        routes: [HTTPRoute]
    ) throws {
        try pipeline.addHandler(IdleStateHandler(readTimeout: limits.idleTimeout.timeAmount))
        try pipeline.addHandler(RequestByteCap(limit: limits.maxRequestBytes, tally: tally))
        var decoderLimits = NIOHTTPDecoderLimitConfiguration()
        decoderLimits.maxHeaderFieldSize = limits.maxHeaderBytes
        decoderLimits.maxHeaderListSize = limits.maxHeaderBytes
        try pipeline.configureHTTPServerPipeline(
            withPipeliningAssistance: false, withErrorHandling: false,
            withEncoderConfiguration: HTTPResponseEncoder.Configuration(),
            withDecoderLimitConfiguration: decoderLimits)
        try pipeline.addHandler(HTTPConnection(limits: limits, tally: tally, routes: routes))
    }

    private enum State {
        /// Accepted; the request is not complete yet.
        case reading
        /// The request is complete (or refused); its one answer is on its way.
        case answering
    }

    private let limits: HTTPLimits
    private let tally: HTTPListenerTally
    private let routes: [HTTPRoute]
    private var state = State.reading
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var requestDeadline: Scheduled<Void>?

    init(limits: HTTPLimits, tally: HTTPListenerTally, routes: [HTTPRoute]) {
        self.limits = limits
        self.tally = tally
        self.routes = routes
    }

    func handlerAdded(context: ChannelHandlerContext) {
        // The request timeout runs from the accept; `channelActive` follows for a new channel.
        let loop = context.eventLoop.assumeIsolated()
        requestDeadline = loop.scheduleTask(in: limits.requestTimeout.timeAmount) { [self] in
            guard case .reading = state else { return }
            state = .answering
            tally.timedOut(.request)
            context.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        requestDeadline?.cancel()
        requestDeadline = nil
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        // Idle while reading the request: closed. Idle while the route prepares its answer: the
        // client is waiting for us, not the other way round.
        guard case .reading = state else { return }
        state = .answering
        tally.timedOut(.idle)
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .reading = state else { return }
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
            let declared = requestHead.headers.first(name: "content-length").flatMap { Int($0) } ?? 0
            if declared > limits.maxBodyBytes {
                refuseTooLarge(context, status: .payloadTooLarge, version: requestHead.version)
            }
        case .body(var buffer):
            guard buffer.readableBytes <= limits.maxBodyBytes - body.count else {
                refuseTooLarge(context, status: .payloadTooLarge, version: head?.version ?? .http1_1)
                return
            }
            body += buffer.readBytes(length: buffer.readableBytes) ?? []
        case .end:
            guard let head else { return }
            state = .answering
            requestDeadline?.cancel()
            requestDeadline = nil
            route(context, head: head)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // The decoder closes the connection after its error; answer first when nothing was yet.
        guard case .reading = state else {
            context.close(promise: nil)
            return
        }
        if let parserError = error as? HTTPParserError, parserError == .headerOverflow {
            refuseTooLarge(context, status: .requestHeaderFieldsTooLarge, version: .http1_1)
        } else if error is HTTPParserError {
            state = .answering
            Self.respond(
                context, version: .http1_1, head: false,
                reply: HTTPReply(status: 400, contentType: "text/plain", body: "bad request\n"))
        } else {
            context.close(promise: nil)
        }
    }

    private func refuseTooLarge(_ context: ChannelHandlerContext, status: HTTPResponseStatus, version: HTTPVersion) {
        state = .answering
        tally.refusedTooLarge()
        Self.respond(
            context, version: version, head: false,
            reply: HTTPReply(status: Int(status.code), contentType: "text/plain", body: "\(status.reasonPhrase)\n"))
    }

    /// Hands the whole request to its route (or answers 404) and writes the answer once, on the
    /// connection's loop, whichever thread the route answers from.
    private func route(_ context: ChannelHandlerContext, head: HTTPRequestHead) {
        let parts = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = parts.first.map(String.init) ?? head.uri
        guard let route = routes.first(where: { $0.matches(path) }) else {
            Self.respond(
                context, version: head.version, head: head.method == .HEAD,
                reply: HTTPReply(status: 404, contentType: "text/plain", body: "not found\n"))
            return
        }
        let request = HTTPRequest(
            method: head.method.rawValue, path: path, query: parts.count > 1 ? String(parts[1]) : "",
            contentType: head.headers.first(name: "content-type"), body: body,
            headers: head.headers.reduce(into: [:]) { all, header in
                let name = header.name.lowercased()
                if all[name] == nil { all[name] = header.value }
            })
        body = []
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let loop = context.eventLoop
        let version = head.version
        let isHead = head.method == .HEAD
        route.respond(request) { reply in
            loop.execute {
                Self.respond(bound.value, version: version, head: isHead, reply: reply)
            }
        }
    }

    /// Headers of every answer: never cached, no referrer (a URL may carry a signature), not
    /// framed, no sniffing.
    static let standardHeaders: [(String, String)] = [
        ("cache-control", "no-store"),
        ("referrer-policy", "no-referrer"),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
    ]

    /// Writes one whole answer and closes the connection (on the channel's event loop). To a
    /// HEAD request the encoder leaves the body out.
    static func respond(_ context: ChannelHandlerContext, version: HTTPVersion, head isHead: Bool, reply: HTTPReply) {
        guard context.channel.isActive else { return }
        var headers = HTTPHeaders(standardHeaders)
        for (name, value) in reply.headers.sorted(by: { $0.key < $1.key }) {
            headers.replaceOrAdd(name: name, value: value)
        }
        headers.replaceOrAdd(name: "content-type", value: reply.contentType)
        headers.replaceOrAdd(name: "content-length", value: String(reply.body.utf8.count))
        headers.replaceOrAdd(name: "connection", value: "close")
        let status = HTTPResponseStatus(statusCode: reply.status)
        context.write(
            NIOAny(HTTPServerResponsePart.head(HTTPResponseHead(version: version, status: status, headers: headers))),
            promise: nil)
        if !isHead {
            context.write(
                NIOAny(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: reply.body)))), promise: nil)
        }
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil))).whenComplete { _ in
            bound.value.close(promise: nil)
        }
    }
}

/// Closes, unanswered, a connection that sends more raw bytes than any request within the
/// limits could hold (before the decoder buffers them).
final class RequestByteCap: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let limit: Int
    private let tally: HTTPListenerTally
    private var received = 0
    private var closing = false

    init(limit: Int, tally: HTTPListenerTally) {
        self.limit = limit
        self.tally = tally
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        received += unwrapInboundIn(data).readableBytes
        guard received <= limit else {
            closing = true
            tally.refusedTooLarge()
            context.close(promise: nil)
            return
        }
        context.fireChannelRead(data)
    }
}
