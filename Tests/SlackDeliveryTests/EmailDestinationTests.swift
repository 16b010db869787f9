import Contracts
import Foundation
import Testing

@testable import SlackDelivery

/// `type: email` in the destinations file: its keys, their problems with file:line, addresses
/// that cannot inject a header, and credentials that never show.
@Suite("Email destinations in the destinations file")
struct EmailDestinationTests {
    static let environment = [
        "SMTP_URL": "smtp://mail.example.com:587", "SMTP_USERNAME": "fleet", "SMTP_PASSWORD": "s3cret-PASSWORD-42",
        "INJECT": "ops@example.com\r\nBcc: spy@evil.example", "MANAGERS": "managers@example.com",
    ]

    static func check(_ body: String) -> (file: DestinationsFile, problems: [String]) {
        let yaml = "destinations:\n  mail:\n    type: email\n" + body
        let result = DestinationsFile.check(yaml: yaml, file: "d.yaml", environment: environment)
        return (result.file, result.problems.map(\.description))
    }

    @Test("a full email destination: STARTTLS required, credentials from the environment, addresses kept in order")
    func fullDestination() throws {
        let (file, problems) = Self.check(
            """
                smtp_url: ${SMTP_URL}
                from: alerts@example.com
                to: [cs-leads@example.com, "${MANAGERS}"]
                username: ${SMTP_USERNAME}
                password: ${SMTP_PASSWORD}
                rate_per_second: 0.5
                burst: 2

            """)
        #expect(problems.isEmpty, "\(problems)")
        let d = try #require(file["mail"])
        #expect(d.kind == .email)
        #expect(d.url.scheme == "smtp")
        #expect(d.rateLimit == RateLimit(perSecond: 0.5, burst: 2))
        let email = try #require(d.email)
        #expect(email.requireTLS)
        #expect(email.from.text == "alerts@example.com")
        #expect(email.to.map(\.text) == ["cs-leads@example.com", "managers@example.com"])
        #expect(email.credentials == SMTPCredentials(username: "fleet", password: "s3cret-PASSWORD-42"))
        for text in ["\(d)", String(reflecting: d), "\(email)", String(reflecting: email), "\(d.url)"] {
            #expect(!text.contains("s3cret") && !text.contains("mail.example.com"), "\(text)")
        }
        var dumped = ""
        dump(d, to: &dumped)
        #expect(!dumped.contains("s3cret") && !dumped.contains("fleet\""), "\(dumped)")
    }

    @Test(
        "TLS: smtps is TLS, smtp is upgraded with STARTTLS unless allow_insecure_smtp",
        arguments: [
            ("smtps://mail.example.com:465", false, true),
            ("smtp://mail.example.com:587", false, true),
            ("smtp://127.0.0.1:2525", true, false),
            ("smtps://127.0.0.1:2525", true, true),
        ])
    func tls(_ url: String, _ insecure: Bool, _ required: Bool) throws {
        let (file, problems) = Self.check(
            "    smtp_url: \(url)\n    from: a@example.com\n    to: [b@example.com]\n"
                + (insecure ? "    allow_insecure_smtp: true\n" : ""))
        #expect(problems.isEmpty, "\(problems)")
        #expect(file["mail"]?.email?.requireTLS == required)
    }

    @Test(
        "each mistake is reported with file:line and key, never with a secret",
        arguments: [
            ("    from: a@example.com\n    to: [b@example.com]\n", "d.yaml:2: destinations.mail.smtp_url: missing"),
            (
                "    smtp_url: https://mail.example.com\n    from: a@example.com\n    to: [b@example.com]\n",
                "d.yaml:4: destinations.mail.smtp_url: URL scheme 'https' is not supported (expected smtp or smtps)"
            ),
            (
                "    smtp_url: smtp://fleet:pw@mail.example.com\n    from: a@example.com\n    to: [b@example.com]\n",
                "d.yaml:4: destinations.mail.smtp_url: the URL holds a user or password"
            ),
            (
                "    smtp_url: smtp://mail.example.com/x\n    from: a@example.com\n    to: [b@example.com]\n",
                "d.yaml:4: destinations.mail.smtp_url: expected smtp://host:port or smtps://host:port, without a path"
            ),
            (
                "    smtp_url: smtp://m.example.com\n    to: [b@example.com]\n",
                "d.yaml:2: destinations.mail.from: missing"
            ),
            (
                "    smtp_url: smtp://m.example.com\n    from: not-an-address\n    to: [b@example.com]\n",
                "d.yaml:5: destinations.mail.from: expected one '@'"
            ),
            (
                "    smtp_url: smtp://m.example.com\n    from: a@example.com\n",
                "d.yaml:2: destinations.mail.to: missing"
            ),
            (
                "    smtp_url: smtp://m.example.com\n    from: a@example.com\n    to: []\n",
                "d.yaml:6: destinations.mail.to: expected a list of one or more addresses"
            ),
            (
                "    smtp_url: smtp://m.example.com\n    from: a@example.com\n    to: [b@example.com, \"${INJECT}\"]\n",
                "d.yaml:6: destinations.mail.to[1]: address contains a line break"
            ),
            (
                "    smtp_url: smtp://m.example.com\n    from: a@example.com\n    to: [\"x y@example.com\"]\n",
                "d.yaml:6: destinations.mail.to[0]: the part before '@'"
            ),
            (
                "    smtp_url: smtp://m.example.com\n    from: a@exa_mple.com\n    to: [b@example.com]\n",
                "d.yaml:5: destinations.mail.from: the domain must be"
            ),
            (
                "    smtp_url: smtp://m.example.com\n    from: a@example.com\n    to: [b@example.com]\n    username: ${SMTP_USERNAME}\n",
                "d.yaml:7: destinations.mail.password: missing: 'username' and 'password' go together"
            ),
            (
                "    smtp_url: smtp://m.example.com\n    from: a@example.com\n    to: [b@example.com]\n    username: u\n    password: literal-pw\n",
                "d.yaml:8: destinations.mail.password: must be a ${VAR} reference"
            ),
            (
                "    smtp_url: smtp://m.example.com\n    from: a@example.com\n    to: [b@example.com]\n    username: u\n    password: ${NOPE}\n",
                "d.yaml:8: destinations.mail.password: environment variable NOPE is not set or empty"
            ),
            (
                "    smtp_url: smtp://m.example.com\n    url: https://x.example.com\n    from: a@example.com\n    to: [b@example.com]\n",
                "d.yaml:5: destinations.mail.url: an email destination names its server with 'smtp_url'"
            ),
            (
                "    smtp_url: smtp://m.example.com\n    from: a@example.com\n    to: [b@example.com]\n    allow_insecure_smtp: yes please\n",
                "d.yaml:7: destinations.mail.allow_insecure_smtp: expected true or false"
            ),
        ])
    func mistakes(_ body: String, _ expected: String) {
        let (file, problems) = Self.check(body)
        #expect(file.destinations.isEmpty)
        #expect(problems.contains { $0.hasPrefix(expected) }, "\(problems)")
        #expect(!problems.joined().contains("s3cret") && !problems.joined().contains("literal-pw"))
    }

    @Test("email keys on another type are refused")
    func emailKeysElsewhere() {
        let yaml = "destinations:\n  hook:\n    url: https://hooks.example.com/x\n    to: [a@example.com]\n"
        let problems = DestinationsFile.check(yaml: yaml, file: "d.yaml", environment: [:]).problems.map(\.description)
        #expect(problems == ["d.yaml:4: destinations.hook.to: only 'email' destinations take 'to'"])
    }

    @Test(
        "addresses",
        arguments: [
            ("a@example.com", true), ("first.last+tag@sub.example.co.uk", true), ("ops@localhost", true),
            ("", false), ("a@", false), ("@example.com", false), ("a@b@example.com", false), ("a b@example.com", false),
            ("a@example.com\r\nBcc: x@y", false), ("a\n@example.com", false), (".a@example.com", false),
            ("a..b@example.com", false), ("a@-example.com", false), ("a@example..com", false),
            ("<a@example.com>", false), ("a@example.com,b@example.com", false),
            (String(repeating: "a", count: 65) + "@example.com", false),
        ])
    func addresses(_ text: String, _ valid: Bool) {
        #expect(((try? EmailAddress(text)) != nil) == valid, "\(text)")
    }
}
