import ArgumentParser
import Foundation
import SlackSink

/// `fleet-admin slack-sink`: a local server that answers like Slack's incoming webhooks and prints
/// each message received as a readable line (the local demo), or stays quiet and reports rate
/// audits (the benchmark's sink on the other core).
struct SlackSinkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slack-sink",
        abstract: "Run a local Slack-like webhook server and print each message it receives."
    )

    @Option(name: .long, help: "Address to bind.")
    var host: String = "127.0.0.1"

    @Option(name: .long, help: "Port to bind.")
    var port: Int = 9099

    @Option(
        name: .long,
        help:
            "Answer to every request: ok, rate-limited:<seconds>, server-error, invalid-blocks, no-service, channel-not-found, archived, forbidden, delay:<ms>, api-error:<slack error> (Web API paths: {\"ok\":false,\"error\":...})."
    )
    var respond: String = "ok"

    @Flag(name: .long, help: "Do not print each message (benchmarks).")
    var quiet = false

    @Flag(
        name: .long,
        help: "End each printed line with the alert ids the message carries (`| ids: a,b`), to count duplicates.")
    var ids = false

    @Option(name: .long, help: "Every N seconds print requests/s and a rate audit (0 = never).")
    var reportEvery: Int = 0

    @Option(name: .long, help: "Rate the audit checks each path against (messages per second).")
    var auditRate: Double = 1

    @Option(name: .long, help: "Burst the audit allows.")
    var auditBurst: Int = 3

    @Option(name: .long, help: "Stop after this many seconds (0 = run until killed).")
    var seconds: Int = 0

    func run() async throws {
        guard let response = Self.parse(respond) else { throw ValidationError("unknown --respond '\(respond)'") }
        let printLines = !quiet
        let printIds = ids
        let sink = SlackSink(recordRequests: false, recordBodies: printLines) { request in
            guard printLines else { return }
            let line =
                Self.line(request)
                + (printIds ? " | ids: " + Self.alertIds(in: request.body).joined(separator: ",") : "")
            FileHandle.standardOutput.write(Data((line + "\n").utf8))
        }
        sink.setDefault(response)
        let bound = try await sink.start(host: host, port: port)
        FileHandle.standardOutput.write(
            Data(
                "slack-sink listening on http://\(host):\(bound) (answers: \(response)); webhook URLs look like http://\(host):\(bound)/services/T000/B000/xxxx, a Slack app's api_url http://\(host):\(bound)/api\n"
                    .utf8))
        let clock = ContinuousClock()
        let started = clock.now
        var last = 0
        var lastReport = clock.now
        while seconds == 0 || started.duration(to: clock.now) < .seconds(seconds) {
            try await Task.sleep(for: .seconds(1))
            if reportEvery > 0 && lastReport.duration(to: clock.now) >= .seconds(reportEvery) {
                let count = sink.requestCount
                let elapsed = lastReport.duration(to: clock.now)
                let rate =
                    Double(count - last)
                    / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
                last = count
                lastReport = clock.now
                let audit = sink.audit(perSecond: auditRate, burst: auditBurst)
                print("sink: \(Int(rate)) requests/s; \(audit); \(sink.connectionCount) connections")
            }
        }
        print("sink final: \(sink.audit(perSecond: auditRate, burst: auditBurst))")
        await sink.stop()
    }

    static func parse(_ s: String) -> SinkResponse? {
        let parts = s.split(separator: ":", maxSplits: 1).map(String.init)
        switch parts.first ?? "" {
        case "ok": return .ok
        case "rate-limited": return .rateLimited(retryAfterSeconds: Int(parts.last ?? "") ?? 30)
        case "server-error": return .serverError
        case "invalid-blocks": return .invalidBlocks
        case "no-service": return .noService
        case "channel-not-found": return .channelNotFound
        case "archived": return .channelIsArchived
        case "forbidden": return .forbidden
        case "delay": return .delayed(milliseconds: Int(parts.last ?? "") ?? 1000, then: .ok)
        case "api-error":
            guard parts.count == 2, !parts[1].isEmpty,
                parts[1].allSatisfy({ ($0.isASCII && $0.isLowercase) || ($0.isASCII && $0.isNumber) || $0 == "_" })
            else { return nil }
            return .apiError(parts[1])
        default: return nil
        }
    }

    /// The alert ids a rendered message names in its footer ("Alert <id> ·" for one alert,
    /// "Alerts <type> <id>, <type> <id> ·" for a group), in order.
    static func alertIds(in body: [UInt8]) -> [String] {
        let text = String(decoding: body, as: UTF8.self)
        var out: [String] = []
        var rest = text[...]
        while let start = rest.range(of: "Alert") {
            let after = rest[start.upperBound...]
            let segment = after.prefix { $0 != "\u{00B7}" && $0 != "\"" }
            for token in segment.split(whereSeparator: { $0 == " " || $0 == "," })
            where token.count >= 8 && token.allSatisfy(\.isHexDigit) {
                out.append(String(token))
            }
            rest = after
        }
        return out
    }

    /// `10:00:01.234 /services/T000/B000/x -> 200 | [#D0021B] Acme Corp: health 32 (-18) | P2 critical customer at risk: ...`
    static func line(_ r: ReceivedRequest) -> String {
        let ms = r.arrivalWallMilliseconds % 86_400_000
        let time = String(format: "%02d:%02d:%02d.%03d", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000)
        var summary = "\(r.bodyLength) bytes"
        if let json = try? JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any] {
            let header = ((json["blocks"] as? [[String: Any]])?.first?["text"] as? [String: Any])?["text"] as? String
            let color = (json["attachments"] as? [[String: Any]])?.first?["color"] as? String
            let text = json["text"] as? String ?? ""
            // A Slack app's chat.postMessage or chat.update names its channel; a thread reply its thread.
            let channel = (json["channel"] as? String).map { "channel \($0) " } ?? ""
            let reply = json["thread_ts"] is String ? "reply " : ""
            summary = "\(channel)\(reply)[\(color ?? "-")] \(header ?? "") | \(text)"
            // An edit's state line ("Acknowledged by ...") is the context block under the header.
            if r.path.hasSuffix("/chat.update"), let blocks = json["blocks"] as? [[String: Any]], blocks.count > 1,
                let state = ((blocks[1]["elements"] as? [[String: Any]])?.first?["text"]) as? String
            {
                summary = "\(channel)\(state) | [\(color ?? "-")] \(header ?? "")"
            }
        }
        let answer = "\(r.response)".hasPrefix("200 {\"ok\":true") ? "200 ok" : "\(r.response)"
        return "\(time) \(r.method) \(r.path) -> \(answer) | \(summary)"
    }
}
