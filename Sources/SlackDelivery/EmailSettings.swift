/// What an `email` destination sends with besides its SMTP URL: the envelope and header addresses,
/// the credentials, and whether the connection must be upgraded with STARTTLS.
public struct EmailSettings: Sendable, Hashable {
    /// `From:` and the envelope sender (`MAIL FROM`).
    public var from: EmailAddress
    /// `To:` and the envelope recipients (`RCPT TO`), at least one.
    public var to: [EmailAddress]
    /// `AUTH` user name and password, from `${VAR}` references; nil: no `AUTH`.
    public var credentials: SMTPCredentials?
    /// TLS is required: `smtp://` is upgraded with STARTTLS (a server that does not offer it fails
    /// the send) and `smtps://` is TLS from the first byte. False only for `allow_insecure_smtp`.
    public var requireTLS: Bool

    public init(from: EmailAddress, to: [EmailAddress], credentials: SMTPCredentials? = nil, requireTLS: Bool = true) {
        self.from = from
        self.to = to
        self.credentials = credentials
        self.requireTLS = requireTLS
    }
}

/// An SMTP user name and password: secrets. Readable only inside this module (by the engine, which
/// hands them to libcurl's `AUTH`); every printed, dumped or reflected form is redacted.
public struct SMTPCredentials: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    let username: String
    let password: String

    /// Wraps a user name and password (from `${SMTP_USERNAME}`, `${SMTP_PASSWORD}`).
    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }

    public var description: String { "<redacted SMTP credentials>" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}

/// Why an `smtp_url` was refused. Carries no part of the URL but its scheme.
public enum SMTPURLProblem: Error, Sendable, Hashable, CustomStringConvertible {
    case url(WebhookURL.Problem)
    case unsupportedScheme(String)
    case credentialsInURL
    case pathNotAllowed

    public var description: String {
        switch self {
        case .url(.noScheme): "URL has no scheme (expected smtp://host:587 or smtps://host:465)"
        case .url(let p): p.description
        case .unsupportedScheme(let s): "URL scheme '\(s)' is not supported (expected smtp or smtps)"
        case .credentialsInURL: "the URL holds a user or password: put them in 'username' and 'password' as ${VAR}"
        case .pathNotAllowed: "expected smtp://host:port or smtps://host:port, without a path"
        }
    }
}

extension WebhookURL {
    /// Validates `text` as an SMTP server URL: `smtp://host[:port]` (upgraded with STARTTLS, see
    /// `EmailSettings.requireTLS`) or `smtps://host[:port]`. No user or password in it, no path
    /// beyond `/` (libcurl would take a path as the `EHLO` name).
    public static func validateSMTP(_ text: String) -> Result<WebhookURL, SMTPURLProblem> {
        if text.isEmpty { return .failure(.url(.empty)) }
        if text.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) {
            return .failure(.url(.forbiddenCharacter))
        }
        guard let sep = text.range(of: "://") else { return .failure(.url(.noScheme)) }
        let scheme = text[..<sep.lowerBound].lowercased()
        guard scheme == "smtp" || scheme == "smtps" else {
            return .failure(.unsupportedScheme(String(scheme.prefix(16))))
        }
        let rest = text[sep.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if authority.contains("@") { return .failure(.credentialsInURL) }
        if authority.isEmpty || authority.hasPrefix(":") { return .failure(.url(.noHost)) }
        let tail = rest.dropFirst(authority.count)
        if !(tail.isEmpty || tail == "/") { return .failure(.pathNotAllowed) }
        return .success(WebhookURL(secret: text, scheme: scheme))
    }
}
