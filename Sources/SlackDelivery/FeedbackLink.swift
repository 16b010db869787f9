import Contracts
import Crypto
import Foundation

/// A signed "was this alert useful?" link: `<base>/feedback?a=<alert id>&v=<verdict>&d=<destination>&r=<rule>&exp=<unix seconds>&sig=<signature>`.
///
/// The signature is HMAC-SHA256 (swift-crypto) under the feedback secret over the alert id, the
/// verdict, the destination, the rule and the expiry, each length-prefixed so no two different links
/// sign the same bytes; it is written in base64url without padding. A link works from an incoming
/// webhook's message as a plain URL button: no Slack app or interactivity endpoint is needed.
public struct FeedbackLink: Sendable, Hashable {
    /// The alert the verdict is about.
    public var alertId: String
    /// Useful or not useful.
    public var verdict: FeedbackVerdict
    /// The destination whose message carried the link.
    public var destination: String
    /// The rule that raised the alert.
    public var rule: String
    /// The link is refused from this time on (whole seconds).
    public var expiresAt: Timestamp

    /// A link from its fields; the expiry is cut to whole seconds (as it travels in the URL).
    public init(alertId: String, verdict: FeedbackVerdict, destination: String, rule: String, expiresAt: Timestamp) {
        self.alertId = alertId
        self.verdict = verdict
        self.destination = destination
        self.rule = rule
        self.expiresAt = Timestamp(millisecondsSinceEpoch: expiresAt.millisecondsSinceEpoch / 1000 * 1000)
    }

    /// The path the dispatcher serves feedback on.
    public static let path = "/feedback"

    /// The bytes the signature covers: a version tag, then each field as `<length>:<value>`.
    var signedBytes: [UInt8] {
        var out = Array("fleet-feedback-v1".utf8)
        for field in [alertId, verdict.rawValue, destination, rule, String(expiresAt.millisecondsSinceEpoch / 1000)] {
            out += Array("|\(field.utf8.count):".utf8)
            out += Array(field.utf8)
        }
        return out
    }

    /// The link's identity: SHA-256 of its signed fields (base64url, no padding). The same link
    /// has the same id under any secret (so a rotation keeps the memory of used links), and the id
    /// is not the signature: a record carrying it cannot be turned back into a working link.
    public var id: String {
        Base64URL.encode(Array(SHA256.hash(data: signedBytes)))
    }

    /// The feedback record this link stands for, at the time of the click (with the link's id and
    /// expiry, which every dispatcher reads back to refuse a replay).
    public func record(at time: Timestamp) -> FeedbackRecord {
        FeedbackRecord(
            alertId: alertId, rule: rule, destination: destination, verdict: verdict, recordedAt: time,
            linkId: id, linkExpiresAt: expiresAt)
    }
}

/// Why a feedback link is refused. Nothing is recorded for a refused link.
public enum FeedbackLinkRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    /// A parameter is missing, repeated or not in its form.
    case malformed(String)
    /// The signature does not match: forged or altered.
    case badSignature
    /// Past its expiry.
    case expired
    /// Already used (see `FeedbackReplayGuard`).
    case replayed

    /// Why the link was refused, in words.
    public var description: String {
        switch self {
        case .malformed(let why): "malformed link: \(why)"
        case .badSignature: "the link's signature does not match"
        case .expired: "the link has expired"
        case .replayed: "the link was already used"
        }
    }
}

/// Signs and verifies feedback links. Pure: time comes in as a value.
///
/// Signs with the current secret only; verifies with the current secret or, during a rotation, the
/// previous one, so links already posted keep working until they expire (`FEEDBACK_SECRET_PREVIOUS`).
public struct FeedbackLinkSigner: Sendable, CustomStringConvertible {
    /// The public base of the dispatcher's feedback endpoint, e.g. `https://fleet.example.com` (no
    /// trailing slash needed).
    public let baseURL: String
    /// How long a link works after the alert is delivered.
    public let lifetimeMs: Int64
    private let secret: SigningSecret
    private let previousSecret: SigningSecret?

    /// A signer for links under `baseURL`, valid `lifetimeMs` after delivery (30 days by default),
    /// signing with `secret` and also accepting links signed with `previousSecret` (a rotation).
    public init(
        baseURL: String, secret: SigningSecret, previousSecret: SigningSecret? = nil,
        lifetimeMs: Int64 = 30 * 86_400_000
    ) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.secret = secret
        self.previousSecret = previousSecret
        self.lifetimeMs = lifetimeMs
    }

    /// Whether links signed with a previous secret are accepted too.
    public var acceptsPreviousSecret: Bool { previousSecret != nil }

    /// The signer in words, with the secret redacted.
    public var description: String { "FeedbackLinkSigner(\(baseURL), <redacted secret>)" }

    /// The signature of `link` (base64url, no padding).
    public func signature(of link: FeedbackLink) -> String {
        Base64URL.encode(HMACSHA256.mac(key: secret.bytes, message: link.signedBytes))
    }

    /// The full URL of `link`.
    public func url(for link: FeedbackLink) -> String {
        let query = [
            ("a", link.alertId), ("v", link.verdict.rawValue), ("d", link.destination), ("r", link.rule),
            ("exp", String(link.expiresAt.millisecondsSinceEpoch / 1000)), ("sig", signature(of: link)),
        ]
        return baseURL + FeedbackLink.path + "?"
            + query.map { "\($0.0)=\(Self.percentEncoded($0.1))" }.joined(separator: "&")
    }

    /// The links of one alert record: (verdict, URL), expiring `lifetimeMs` after it is delivered:
    /// after its not-before time, else its raise time, or after the start of the UTC day of
    /// `deliveredAt` when that is later (an alert replayed from last quarter's history, or held
    /// for days by an outage, still gets links that work). The same alert delivered on the same
    /// day always gives the same links.
    public func links(for alert: AlertRecord, deliveredAt: Timestamp? = nil) -> [(FeedbackVerdict, String)] {
        var anchor = alert.notBefore ?? alert.raisedAt
        if let deliveredAt { anchor = max(anchor, Timestamp.startOfDay(deliveredAt.epochDay)) }
        let expires = anchor.adding(milliseconds: lifetimeMs)
        return FeedbackVerdict.allCases.map { verdict in
            (
                verdict,
                url(
                    for: FeedbackLink(
                        alertId: alert.alertId, verdict: verdict, destination: alert.destination,
                        rule: alert.rule ?? alert.type.rawValue, expiresAt: expires))
            )
        }
    }

    /// Checks the query string of a request to the feedback path (`a=...&v=...`, without `?`) at
    /// `now`: well formed, signed by this secret or the previous one (compared in constant time),
    /// not expired. Replays
    /// are the caller's to refuse with a `FeedbackReplayGuard`.
    public func verify(query: String, now: Timestamp) -> Result<FeedbackLink, FeedbackLinkRefusal> {
        var values: [String: String] = [:]
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(parts[0])
            guard parts.count == 2, let value = String(parts[1]).removingPercentEncoding else {
                return .failure(.malformed("bad parameter \(key.prefix(20))"))
            }
            guard values[key] == nil else { return .failure(.malformed("repeated parameter \(key.prefix(20))")) }
            values[key] = value
        }
        for key in ["a", "v", "d", "r", "exp", "sig"] where (values[key] ?? "").isEmpty {
            return .failure(.malformed("missing \(key)"))
        }
        guard let verdict = FeedbackVerdict(rawValue: values["v"]!) else {
            return .failure(.malformed("unknown verdict"))
        }
        guard let seconds = Int64(values["exp"]!), seconds > 0, seconds < Int64.max / 1000 else {
            return .failure(.malformed("bad exp"))
        }
        guard let mac = Base64URL.decode(values["sig"]!) else { return .failure(.malformed("bad sig")) }
        let link = FeedbackLink(
            alertId: values["a"]!, verdict: verdict, destination: values["d"]!, rule: values["r"]!,
            expiresAt: Timestamp(millisecondsSinceEpoch: seconds * 1000))
        // The signature first: an attacker learns nothing about expiry from a forged link.
        let message = link.signedBytes
        guard
            HMACSHA256.isValid(mac, key: secret.bytes, message: message)
                || previousSecret.map({ HMACSHA256.isValid(mac, key: $0.bytes, message: message) }) == true
        else { return .failure(.badSignature) }
        guard now < link.expiresAt else { return .failure(.expired) }
        return .success(link)
    }

    static let unreserved: CharacterSet = {
        var set = CharacterSet()
        set.insert(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        return set
    }()

    static func percentEncoded(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: unreserved) ?? ""
    }
}

/// Base64url without padding (RFC 4648 section 5), for signatures in URLs.
enum Base64URL {
    static func encode(_ bytes: [UInt8]) -> String {
        var s = Data(bytes).base64EncodedString()
        while s.hasSuffix("=") { s.removeLast() }
        return String(s.map { $0 == "+" ? "-" : ($0 == "/" ? "_" : $0) })
    }

    static func decode(_ text: String) -> [UInt8]? {
        guard
            text.utf8.allSatisfy({ c in
                (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == 0x2D
                    || c == 0x5F
            }), text.count % 4 != 1
        else { return nil }
        var s = String(text.map { $0 == "-" ? "+" : ($0 == "_" ? "/" : $0) })
        while s.count % 4 != 0 { s.append("=") }
        return Data(base64Encoded: s).map { Array($0) }
    }
}
