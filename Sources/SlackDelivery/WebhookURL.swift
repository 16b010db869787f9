/// A webhook URL: a secret. Its text is readable only inside this module (by the HTTP engine);
/// every printed, dumped or reflected form is redacted, so it cannot reach a log line, a metric,
/// an error message or a record by accident.
public struct WebhookURL: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The secret text. Module-internal on purpose.
    let secret: String
    /// `https` or `http` (lowercased). Not a secret.
    public let scheme: String

    /// Why a URL text was refused. Carries no part of the URL except its scheme.
    public enum Problem: Sendable, Hashable, CustomStringConvertible {
        case empty
        case noScheme
        case unsupportedScheme(String)
        case plainHTTPNotAllowed
        case noHost
        case forbiddenCharacter

        public var description: String {
            switch self {
            case .empty: "URL is empty"
            case .noScheme: "URL has no scheme (expected https://...)"
            case .unsupportedScheme(let s): "URL scheme '\(s)' is not supported (expected https)"
            case .plainHTTPNotAllowed:
                "URL uses plain http; only https is allowed unless the destination sets allow_insecure_http: true (local sinks)"
            case .noHost: "URL has no host"
            case .forbiddenCharacter: "URL contains whitespace or control characters"
            }
        }
    }

    /// The result of `validate`.
    public enum Validation: Sendable {
        case success(WebhookURL)
        case failure(Problem)
    }

    /// Validates `text` as an absolute http(s) URL. Plain `http` is refused unless `allowInsecureHTTP`.
    public static func validate(_ text: String, allowInsecureHTTP: Bool) -> Validation {
        if text.isEmpty { return .failure(.empty) }
        if text.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) {
            return .failure(.forbiddenCharacter)
        }
        guard let sep = text.range(of: "://") else { return .failure(.noScheme) }
        let scheme = text[..<sep.lowerBound].lowercased()
        switch scheme {
        case "https": break
        case "http": if !allowInsecureHTTP { return .failure(.plainHTTPNotAllowed) }
        default: return .failure(.unsupportedScheme(String(scheme.prefix(16))))
        }
        let rest = text[sep.upperBound...]
        let host = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if host.isEmpty || host.hasPrefix(":") { return .failure(.noHost) }
        return .success(WebhookURL(secret: text, scheme: scheme))
    }

    init(secret: String, scheme: String) {
        self.secret = secret
        self.scheme = scheme
    }

    public var description: String { "<redacted \(scheme) URL>" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}

/// A shared secret for signing generic webhook bodies (HMAC-SHA256). Redacted like `WebhookURL`.
public struct SigningSecret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    let bytes: [UInt8]

    public init(_ text: String) { bytes = Array(text.utf8) }

    public var description: String { "<redacted secret>" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}
