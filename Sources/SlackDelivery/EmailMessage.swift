import Contracts
import Crypto
import Foundation

/// One alert email as it goes on the wire: RFC 5322 headers and a MIME `multipart/alternative`
/// body with a `text/plain` and a `text/html` part (UTF-8, quoted-printable, every line at most 76
/// characters). Pure: the same message gives the same bytes.
///
/// The `Message-ID` comes from the alert ids (`messageId(alertIds:domain:)`), so a message sent
/// again after a retry is recognisably the same message (mail clients and archives thread or
/// deduplicate it); the MIME boundary comes from it too.
public struct EmailMessage: Sendable, Hashable {
    public var from: EmailAddress
    public var to: [EmailAddress]
    /// The subject (one line; non-ASCII is written as RFC 2047 encoded words).
    public var subject: String
    /// The `Date:` header.
    public var date: Timestamp
    /// The `Message-ID` without its angle brackets: `alert.<id>@<domain of from>`.
    public var messageId: String
    /// The text of the `text/plain` part, lines separated by `\n`.
    public var plain: String
    /// The HTML document of the `text/html` part.
    public var html: String

    /// The longest subject kept (in characters), cut with `…`.
    public static let maxSubjectCharacters = 200

    public init(
        from: EmailAddress, to: [EmailAddress], subject: String, date: Timestamp, messageId: String, plain: String,
        html: String
    ) {
        self.from = from
        self.to = to
        self.subject = subject
        self.date = date
        self.messageId = messageId
        self.plain = plain
        self.html = html
    }

    /// The message as sent (CRLF line ends), for libcurl's upload.
    public func rendered() -> [UInt8] {
        let boundary = "=_fleet_" + Self.hexDigest(messageId).prefix(24)
        var out = ""
        out += "From: \(from.text)\r\n"
        out += Self.addressHeader("To", to) + "\r\n"
        out += "Subject: " + Self.encodedSubject(subject) + "\r\n"
        out += "Date: " + Self.rfc5322Date(date) + "\r\n"
        out += "Message-ID: <\(messageId)>\r\n"
        out += "MIME-Version: 1.0\r\n"
        out += "Content-Type: multipart/alternative; boundary=\"\(boundary)\"\r\n"
        out += "\r\n"
        for (type, text) in [("text/plain", plain), ("text/html", html)] {
            out += "--\(boundary)\r\n"
            out += "Content-Type: \(type); charset=utf-8\r\n"
            out += "Content-Transfer-Encoding: quoted-printable\r\n"
            out += "\r\n"
            out += Self.quotedPrintable(text) + "\r\n"
        }
        out += "--\(boundary)--\r\n"
        return Array(out.utf8)
    }

    // MARK: - Pieces (each table-tested)

    /// `alert.<id>@<domain>` for one alert; for several (a group) the lead's id and a digest of
    /// them all. Bytes of an id outside `[A-Za-z0-9_-]` are written `=XX`; a long id is cut and
    /// completed with a digest, so any id gives a valid, bounded `Message-ID`.
    public static func messageId(alertIds: [String], domain: String) -> String {
        let lead = alertIds.first ?? ""
        var local = ""
        for b in lead.utf8 {
            if EmailAddress.isDomainByte(b) || b == UInt8(ascii: "_") {
                local.unicodeScalars.append(Unicode.Scalar(b))
            } else {
                local += "=" + hex(b)
            }
        }
        if local.isEmpty || local.utf8.count > 64 {
            local = String(local.prefix(40)) + "." + hexDigest(lead).prefix(16)
        }
        if alertIds.count > 1 {
            local += "." + hexDigest(alertIds.joined(separator: "\n")).prefix(16)
        }
        return "alert.\(local)@\(domain.isEmpty ? "fleet.invalid" : domain)"
    }

    /// `Name: a@x, b@y`, folded onto continuation lines when long.
    static func addressHeader(_ name: String, _ addresses: [EmailAddress]) -> String {
        var out = "\(name): "
        var lineLength = out.utf8.count
        for (i, a) in addresses.enumerated() {
            let piece = a.text + (i == addresses.count - 1 ? "" : ",")
            if i > 0 {
                if lineLength + 1 + piece.utf8.count > 76 {
                    out += "\r\n "
                    lineLength = 1
                } else {
                    out += " "
                    lineLength += 1
                }
            }
            out += piece
            lineLength += piece.utf8.count
        }
        return out
    }

    /// The subject as written in the header: printable ASCII as it is, anything else as RFC 2047
    /// `=?UTF-8?B?...?=` words of at most 75 characters on folded lines. Line breaks and other
    /// control characters become spaces (a subject can never add a header).
    static func encodedSubject(_ raw: String) -> String {
        var clean = String(
            String.UnicodeScalarView(
                SlackText.singleLine(raw).unicodeScalars.map {
                    $0.value < 0x20 || $0.value == 0x7F || (0x80..<0xA0).contains($0.value) ? " " : $0
                }))
        if clean.count > maxSubjectCharacters { clean = String(clean.prefix(maxSubjectCharacters - 1)) + "…" }
        let plainASCII = clean.utf8.allSatisfy { (0x20...0x7E).contains($0) } && !clean.contains("=?")
        if plainASCII && clean.utf8.count <= 900 { return clean }
        // Whole characters per word (an encoded word must not split a UTF-8 sequence): at most 45
        // bytes each, 60 in base64, 72 with `=?UTF-8?B?` and `?=`.
        var words: [[UInt8]] = []
        var chunk: [UInt8] = []
        for ch in clean {
            let bytes = Array(String(ch).utf8)
            if !chunk.isEmpty && chunk.count + bytes.count > 45 {
                words.append(chunk)
                chunk = []
            }
            chunk += bytes.prefix(45)
        }
        if !chunk.isEmpty || words.isEmpty { words.append(chunk) }
        return words.map { "=?UTF-8?B?" + Data($0).base64EncodedString() + "?=" }.joined(separator: "\r\n ")
    }

    /// RFC 5322 date in UTC: `Sun, 06 Dec 2026 01:17:08 +0000`.
    static func rfc5322Date(_ t: Timestamp) -> String {
        let days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let civil = Timestamp.civilDate(epochDay: t.epochDay)
        let ms = t.millisecondsSinceEpoch - t.epochDay * Timestamp.millisecondsPerDay
        let seconds = Int(ms / 1000)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let month = months[Int(max(1, min(12, civil.month))) - 1]
        return
            "\(days[t.weekday]), \(two(Int(civil.day))) \(month) \(civil.year) \(two(seconds / 3600)):\(two(seconds / 60 % 60)):\(two(seconds % 60)) +0000"
    }

    /// `text` as quoted-printable (RFC 2045 6.7): its `\n` (or `\r\n`) line breaks as CRLF, every
    /// byte outside printable ASCII (and `=`, and a space or tab ending a line) as `=XX`, lines
    /// longer than 76 characters broken with a soft `=`.
    static func quotedPrintable(_ text: String) -> String {
        var lines: [String] = []
        for rawLine in text.utf8.split(separator: 0x0A, omittingEmptySubsequences: false) {
            var bytes = Array(rawLine)
            if bytes.last == 0x0D { bytes.removeLast() }
            var out = ""
            var length = 0
            for (i, b) in bytes.enumerated() {
                let last = i == bytes.count - 1
                let token: String
                if (33...126).contains(b) && b != UInt8(ascii: "=") {
                    token = String(Unicode.Scalar(b))
                } else if (b == 0x20 || b == 0x09) && !last {
                    token = String(Unicode.Scalar(b))
                } else {
                    token = "=" + hex(b)
                }
                // Room for the token and, unless it ends the line, a soft break's `=`.
                if length + token.utf8.count > (last ? 76 : 75) {
                    out += "=\r\n"
                    length = 0
                }
                out += token
                length += token.utf8.count
            }
            lines.append(out)
        }
        return lines.joined(separator: "\r\n")
    }

    static func hex(_ b: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(b >> 4)], digits[Int(b & 0x0F)]])
    }

    static func hexDigest(_ text: String) -> String {
        SHA256.hash(data: Array(text.utf8)).map { hex($0) }.joined().lowercased()
    }
}
