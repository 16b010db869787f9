import Contracts
import SlackDelivery
import WorkerRuntime

/// The short HTML pages the feedback path answers with: a confirmation, or why a link was refused.
/// Every value shown is HTML-escaped; nothing from the query is echoed except the fields of a
/// verified link.
enum FeedbackPage {
    /// 200: the verdict was recorded.
    static func recorded(_ record: FeedbackRecord) -> HTTPReply {
        let verdict = record.verdict == .useful ? "useful" : "not useful"
        return reply(
            status: 200, title: "Thank you",
            message: "Recorded: alert \(record.alertId) (\(record.rule), \(record.destination)) marked \(verdict).")
    }

    /// 200 to a GET: what the link would record, and one button that POSTs the link's signed
    /// fields to `action` (the public URL of the feedback path). Nothing is recorded until then.
    static func confirmation(_ link: FeedbackLink, action: String, signature: String) -> HTTPReply {
        let verdict = link.verdict == .useful ? "useful" : "not useful"
        let fields = [
            ("a", link.alertId), ("v", link.verdict.rawValue), ("d", link.destination), ("r", link.rule),
            ("exp", String(link.expiresAt.millisecondsSinceEpoch / 1000)), ("sig", signature),
        ]
        let inputs = fields.map { "<input type=\"hidden\" name=\"\($0.0)\" value=\"\(escaped($0.1))\">" }.joined()
        let form =
            "<form method=\"post\" action=\"\(escaped(action))\">\(inputs)"
            + "<button type=\"submit\">Mark it \(verdict)</button></form>"
        return page(
            status: 200, title: "Was this alert \(verdict)?",
            message: "Alert \(link.alertId) (\(link.rule), \(link.destination)): "
                + "confirm to record it as \(verdict).",
            extra: form)
    }

    /// 4xx: a refused link, recorded nowhere.
    static func refused(_ refusal: FeedbackLinkRefusal) -> HTTPReply {
        switch refusal {
        case .malformed:
            reply(
                status: 400, title: "Link not valid", message: "This feedback link is incomplete. Nothing was recorded."
            )
        case .badSignature:
            reply(
                status: 403, title: "Link not valid", message: "This feedback link is not valid. Nothing was recorded.")
        case .expired:
            reply(status: 410, title: "Link expired", message: "This feedback link has expired. Nothing was recorded.")
        case .replayed:
            reply(
                status: 409, title: "Already recorded",
                message: "This feedback link was already used. Nothing more was recorded.")
        }
    }

    /// A minimal page with `title` and one paragraph.
    static func reply(status: Int, title: String, message: String) -> HTTPReply {
        page(status: status, title: title, message: message, extra: "")
    }

    /// No script, no outside resource, styles inline only, never framed.
    static let contentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"

    /// A minimal page with `title`, one paragraph and `extra` HTML (already escaped). No script,
    /// no outside resource, never framed (`content-security-policy`).
    private static func page(status: Int, title: String, message: String, extra: String) -> HTTPReply {
        let body = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
            <meta name="robots" content="noindex"><title>\(escaped(title))</title></head>
            <body style="font-family: sans-serif; max-width: 36em; margin: 3em auto"><h1>\(escaped(title))</h1><p>\(escaped(message))</p>\(extra)</body></html>

            """
        return HTTPReply(
            status: status, contentType: "text/html; charset=utf-8", body: body,
            headers: ["content-security-policy": contentSecurityPolicy])
    }

    /// `text` with the five HTML special characters escaped.
    static func escaped(_ text: String) -> String { HTMLEscape.text(text) }
}
