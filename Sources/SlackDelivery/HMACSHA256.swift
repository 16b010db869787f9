import Crypto

/// HMAC-SHA256 (RFC 2104) for signing generic webhook bodies and feedback links: a thin facade over
/// swift-crypto's `HMAC<SHA256>` (a crypto primitive is not ours to maintain), with the encodings
/// the fleet writes signatures in.
public enum HMACSHA256 {
    /// HMAC-SHA256 of `message` under `key` (32 bytes).
    public static func mac(key: [UInt8], message: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
    }

    /// Whether `mac` is the HMAC-SHA256 of `message` under `key`, compared in constant time (the
    /// time taken does not depend on where a forged MAC differs).
    public static func isValid(_ mac: [UInt8], key: [UInt8], message: [UInt8]) -> Bool {
        HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: message, using: SymmetricKey(data: key))
    }

    /// Lowercase hex of `bytes`.
    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
