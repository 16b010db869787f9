import Contracts

/// Why a request to the interactivity endpoint was refused as not from Slack (answered 401).
public enum SlackSignatureRefusal: String, Sendable, CaseIterable, Error {
    /// No `X-Slack-Request-Timestamp` or no `X-Slack-Signature` header.
    case missingHeaders = "missing_headers"
    /// The timestamp is not a whole number of seconds, or the signature not `v0=` and 64 hex digits.
    case malformed
    /// The timestamp is more than the window (5 minutes) away from now: a replay of an old request.
    case stale
    /// The signature is not the HMAC of this body under the signing secret (forged or altered).
    case badSignature = "bad_signature"
}

/// Verifies Slack's request signature (version `v0`): `X-Slack-Signature` is `v0=` and the hex
/// HMAC-SHA256, under the app's signing secret, of `v0:{X-Slack-Request-Timestamp}:{raw body}`; a
/// timestamp more than `windowSeconds` (300) from now is refused, so a captured request cannot be
/// replayed later. The compare is constant-time (`HMACSHA256.isValid`). Pure: `now` comes in.
///
/// The secret lives only inside this value (redacted in every description), never in a refusal.
public struct SlackRequestVerifier: Sendable, CustomStringConvertible {
    private let secret: SigningSecret
    /// How far (seconds) the request's timestamp may be from now, either way.
    public let windowSeconds: Int64

    /// Slack's own window: 5 minutes.
    public static let defaultWindowSeconds: Int64 = 300

    /// A verifier with the app's signing secret.
    public init(secret: SigningSecret, windowSeconds: Int64 = SlackRequestVerifier.defaultWindowSeconds) {
        self.secret = secret
        self.windowSeconds = windowSeconds
    }

    /// Without the secret.
    public var description: String { "Slack v0 signatures, \(windowSeconds) s window" }

    /// Nil when `signature` signs `body` at `timestamp` and the timestamp is within the window of
    /// `now`; else why not.
    public func refusal(timestamp: String?, signature: String?, body: [UInt8], now: Timestamp) -> SlackSignatureRefusal?
    {
        guard let timestamp, let signature else { return .missingHeaders }
        guard timestamp.utf8.count <= 12, let seconds = Int64(timestamp), seconds >= 0 else { return .malformed }
        guard signature.hasPrefix("v0="), let mac = Self.bytes(hex: signature.dropFirst(3)), mac.count == 32 else {
            return .malformed
        }
        let nowSeconds = now.millisecondsSinceEpoch / 1000
        // Both are in 0...10^12: the difference cannot overflow.
        guard abs(nowSeconds - seconds) <= windowSeconds else { return .stale }
        let message = Array("v0:\(timestamp):".utf8) + body
        return HMACSHA256.isValid(mac, key: secret.bytes, message: message) ? nil : .badSignature
    }

    /// The `X-Slack-Signature` value for `body` sent at `timestamp` (seconds): for the local Slack
    /// stand-in and tests, which play Slack's part.
    public func signature(timestamp: Int64, body: [UInt8]) -> String {
        "v0=" + HMACSHA256.hex(HMACSHA256.mac(key: secret.bytes, message: Array("v0:\(timestamp):".utf8) + body))
    }

    /// Bytes from lowercase or uppercase hex, or nil.
    static func bytes(hex: Substring) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0, digits.count <= 128 else { return nil }
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        var i = 0
        while i < digits.count {
            guard let hi = value(digits[i]), let lo = value(digits[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }
}
