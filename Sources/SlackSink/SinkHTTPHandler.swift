import NIOCore
import NIOHTTP1

/// Answers each HTTP request as the sink's script says; `GET /__sink/audit?per_second=1&burst=3&tolerance_ms=20`
/// reports the rate audit as JSON (for a sink running in another process).
final class SinkHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let state: SinkState
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var bodyLength = 0

    private let connectionId: Int

    init(state: SinkState) {
        self.state = state
        self.connectionId = state.newConnection()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body.removeAll(keepingCapacity: true)
            bodyLength = 0
        case .body(var buffer):
            bodyLength += buffer.readableBytes
            if state.recordBodies || head?.uri.contains("/chat.postMessage") == true
                || head?.uri.contains("/chat.update") == true,
                let bytes = buffer.readBytes(length: buffer.readableBytes)
            {
                body += bytes
            }
        case .end:
            guard let h = head else { return }
            head = nil
            let parts = h.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
            let path = String(parts.first ?? "")
            if path == "/__sink/audit" {
                answerAudit(context: context, query: parts.count > 1 ? String(parts[1]) : "", keepAlive: h.isKeepAlive)
                return
            }
            var headers: [String: String] = [:]
            for (name, value) in h.headers { headers[name.lowercased()] = value }
            let query = parts.count > 1 ? String(parts[1]) : ""
            let response = state.record(
                method: h.method.rawValue, path: path, query: query, headers: headers, body: body,
                bodyLength: bodyLength, connectionId: connectionId)
            answer(context: context, response, keepAlive: h.isKeepAlive)
        }
    }

    private func answer(context: ChannelHandlerContext, _ response: SinkResponse, keepAlive: Bool) {
        switch response {
        case .noResponse:
            return
        case .delayed(let ms, let then):
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: .milliseconds(Int64(ms))) {
                let (handler, ctx) = bound.value
                handler.answer(context: ctx, then, keepAlive: keepAlive)
            }
        default:
            guard let wire = response.wire else { return }
            write(context: context, status: wire.status, body: wire.body, headers: wire.headers, keepAlive: keepAlive)
        }
    }

    private func answerAudit(context: ChannelHandlerContext, query: String, keepAlive: Bool) {
        var params: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            if kv.count == 2 { params[String(kv[0])] = String(kv[1]) }
        }
        let perSecond = Double(params["per_second"] ?? "") ?? 1
        let burst = Int(params["burst"] ?? "") ?? 3
        let toleranceMs = Double(params["tolerance_ms"] ?? "") ?? 20
        let r = state.audit(perSecond: perSecond, burst: burst, toleranceNanos: UInt64(toleranceMs * 1e6))
        let json =
            #"{"requests":\#(r.requests),"paths":\#(r.paths),"violations":\#(r.violations),"paths_over_limit":\#(r.pathsOverLimit)}"#
        write(
            context: context, status: 200, body: json, headers: ["Content-Type": "application/json"],
            keepAlive: keepAlive)
    }

    private func write(
        context: ChannelHandlerContext, status: Int, body: String, headers extra: [String: String], keepAlive: Bool
    ) {
        guard context.channel.isActive else { return }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Length", value: "\(body.utf8.count)")
        if extra["Content-Type"] == nil { headers.add(name: "Content-Type", value: "text/plain; charset=utf-8") }
        for (k, v) in extra { headers.add(name: k, value: v) }
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        context.write(
            wrapOutboundOut(
                .head(
                    HTTPResponseHead(
                        version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: headers))),
            promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: body.utf8.count)
        buffer.writeString(body)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        if keepAlive {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            let promise = context.eventLoop.makePromise(of: Void.self)
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            promise.futureResult.whenComplete { _ in bound.value.close(promise: nil) }
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: promise)
        }
    }
}
