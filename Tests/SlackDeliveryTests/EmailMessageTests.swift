import Contracts
import Foundation
import Testing

@testable import SlackDelivery

/// The MIME message of an email destination, piece by piece (pure).
@Suite("Email messages: MIME multipart/alternative, quoted-printable, RFC 2047 subjects, Message-IDs")
struct EmailMessageTests {
    @Test(
        "quoted-printable",
        arguments: [
            ("plain ascii", "plain ascii"),
            ("a=b", "a=3Db"),
            ("café", "caf=C3=A9"),
            ("trailing space ", "trailing space=20"),
            ("tab\tinside", "tab\tinside"),
            ("two\nlines", "two\r\nlines"),
            ("crlf\r\nkept", "crlf\r\nkept"),
            ("<b>&amp;</b>", "<b>&amp;</b>"),
            ("", ""),
        ])
    func quotedPrintable(_ input: String, _ expected: String) {
        #expect(EmailMessage.quotedPrintable(input) == expected)
    }

    @Test("quoted-printable lines stay within 76 characters and decode back to the text")
    func quotedPrintableLongLines() {
        let text = String(repeating: "é=x ", count: 100) + "\n" + String(repeating: "a", count: 300)
        let encoded = EmailMessage.quotedPrintable(text)
        let lines = encoded.components(separatedBy: "\r\n")
        #expect(lines.allSatisfy { $0.utf8.count <= 76 }, "\(lines.map(\.utf8.count))")
        #expect(Self.decodeQP(encoded) == text)
    }

    @Test(
        "subjects: ASCII as is, anything else as UTF-8 encoded words; never a line break",
        arguments: [
            ("Acme Corp is critical", "Acme Corp is critical"),
            ("Müller GmbH", "=?UTF-8?B?TcO8bGxlciBHbWJI?="),
            ("two\nlines\r\nBcc: x@y", "two lines Bcc: x@y"),
            ("looks =?like?= a word", "=?UTF-8?B?bG9va3MgPT9saWtlPz0gYSB3b3Jk?="),
        ])
    func subject(_ input: String, _ expected: String) {
        #expect(EmailMessage.encodedSubject(input) == expected)
    }

    @Test("a long non-ASCII subject is folded into encoded words of at most 75 characters, whole characters each")
    func longSubject() {
        let subject = String(repeating: "Zürich 🇨🇭 ", count: 12)
        let encoded = EmailMessage.encodedSubject(subject)
        let words = encoded.components(separatedBy: "\r\n ")
        #expect(words.count > 1)
        #expect(words.allSatisfy { $0.hasPrefix("=?UTF-8?B?") && $0.hasSuffix("?=") && $0.utf8.count <= 75 })
        let decoded = words.map { word -> String in
            let b64 = word.dropFirst(10).dropLast(2)
            return String(decoding: Data(base64Encoded: String(b64)) ?? Data(), as: UTF8.self)
        }
        #expect(decoded.allSatisfy { !$0.contains("\u{FFFD}") }, "a word split a character")
        let joined = decoded.joined()
        #expect(joined.hasPrefix("Zürich 🇨🇭 Zürich"))
        #expect(joined.count <= EmailMessage.maxSubjectCharacters)
    }

    @Test(
        "RFC 5322 dates in UTC",
        arguments: [
            (Int64(0), "Thu, 01 Jan 1970 00:00:00 +0000"),
            (Int64(1_796_519_828_000), "Sun, 06 Dec 2026 01:17:08 +0000"),
            (Int64(951_782_400_000), "Tue, 29 Feb 2000 00:00:00 +0000"),
        ])
    func dates(_ ms: Int64, _ expected: String) {
        #expect(EmailMessage.rfc5322Date(Timestamp(millisecondsSinceEpoch: ms)) == expected)
    }

    @Test(
        "Message-IDs come from the alert ids: the same ids give the same id; any id gives a valid one",
        arguments: [
            (["al-1"], "alert.al-1@example.com"),
            (["a b@c>\r\n"], "alert.a=20b=40c=3E=0D=0A@example.com"),
            (["al_2"], "alert.al_2@example.com"),
        ])
    func messageIds(_ ids: [String], _ expected: String) {
        #expect(EmailMessage.messageId(alertIds: ids, domain: "example.com") == expected)
    }

    @Test("Message-IDs of groups and of long ids are bounded and distinct")
    func messageIdsOfGroupsAndLongIds() {
        let group = EmailMessage.messageId(alertIds: ["al-1", "al-2"], domain: "example.com")
        #expect(group.hasPrefix("alert.al-1."))
        #expect(group != EmailMessage.messageId(alertIds: ["al-1", "al-3"], domain: "example.com"))
        let long = EmailMessage.messageId(alertIds: [String(repeating: "x", count: 5000)], domain: "example.com")
        let empty = EmailMessage.messageId(alertIds: [""], domain: "example.com")
        #expect(long.utf8.count < 120 && empty.utf8.count < 120)
        #expect(long != EmailMessage.messageId(alertIds: [String(repeating: "x", count: 5001)], domain: "example.com"))
    }

    static func sample(subject: String = "Acme Corp is critical", plain: String = "hello", html: String = "<p>hi</p>")
        throws -> EmailMessage
    {
        EmailMessage(
            from: try EmailAddress("alerts@example.com"),
            to: [try EmailAddress("a@example.com"), try EmailAddress("b@example.org")], subject: subject,
            date: Timestamp(millisecondsSinceEpoch: 1_796_519_828_000), messageId: "alert.al-1@example.com",
            plain: plain, html: html)
    }

    @Test("the whole message: headers, two parts under one boundary, CRLF only, lines within 998")
    func rendered() throws {
        let text = String(
            decoding: try Self.sample(plain: "Health: 32\nnext", html: "<p>x</p>").rendered(), as: UTF8.self)
        let lines = text.components(separatedBy: "\r\n")
        #expect(!text.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
        #expect(lines.allSatisfy { $0.utf8.count <= 998 })
        #expect(
            lines.prefix(7).joined(separator: "|")
                == [
                    "From: alerts@example.com", "To: a@example.com, b@example.org", "Subject: Acme Corp is critical",
                    "Date: Sun, 06 Dec 2026 01:17:08 +0000", "Message-ID: <alert.al-1@example.com>",
                    "MIME-Version: 1.0",
                    "Content-Type: multipart/alternative; boundary=\"=_fleet_\(EmailMessage.hexDigest("alert.al-1@example.com").prefix(24))\"",
                ].joined(separator: "|"))
        #expect(
            text.contains(
                "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nHealth: 32\r\nnext\r\n"
            ))
        #expect(
            text.contains(
                "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>x</p>\r\n"
            ))
        #expect(text.hasSuffix("--\r\n"))
        // The same message renders the same bytes (a retry sends the same message).
        #expect(try Self.sample().rendered() == Self.sample().rendered())
    }

    @Test("many recipients fold the To header")
    func foldedTo() throws {
        var message = try Self.sample()
        message.to = try (0..<20).map { try EmailAddress("recipient-\($0)@example.com") }
        let text = String(decoding: message.rendered(), as: UTF8.self)
        let to = text.components(separatedBy: "\r\nSubject:")[0].components(separatedBy: "\r\nTo: ")[1]
        let lines = to.components(separatedBy: "\r\n ")
        #expect(lines.count > 1 && lines.allSatisfy { $0.utf8.count <= 78 })
        #expect(lines.joined(separator: " ").components(separatedBy: ", ").count == 20)
    }

    /// Quoted-printable decoded (for round trips).
    static func decodeQP(_ text: String) -> String {
        var bytes: [UInt8] = []
        let raw = Array(
            text.replacingOccurrences(of: "=\r\n", with: "").replacingOccurrences(of: "\r\n", with: "\n").utf8)
        var i = 0
        while i < raw.count {
            if raw[i] == UInt8(ascii: "="), i + 2 < raw.count + 0,
                let v = UInt8(String(decoding: raw[(i + 1)...(i + 2)], as: UTF8.self), radix: 16)
            {
                bytes.append(v)
                i += 3
            } else {
                bytes.append(raw[i])
                i += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
