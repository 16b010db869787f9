import Contracts

/// Deterministic alert ids: FNV-1a 64 over the parts that identify an alert.
///
/// The same account, type, rule and episode always give the same id, in every process and on every
/// replay (Swift's `Hasher` is randomly seeded per process and is never used for ids).
public enum AlertId {
    static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325
    static let prime: UInt64 = 0x0000_0100_0000_01b3

    /// FNV-1a 64 of the UTF-8 bytes of `parts`, each followed by a 0x1F unit separator.
    public static func fnv1a64(_ parts: [String]) -> UInt64 {
        var hash = offsetBasis
        for part in parts {
            for byte in part.utf8 {
                hash ^= UInt64(byte)
                hash = hash &* prime
            }
            hash ^= 0x1F
            hash = hash &* prime
        }
        return hash
    }

    /// 16 lower-case hex digits of `fnv1a64(parts)`.
    public static func make(_ parts: [String]) -> String {
        hex(fnv1a64(parts))
    }

    static func hex(_ value: UInt64) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8](repeating: 48, count: 16)
        var v = value
        for i in stride(from: 15, through: 0, by: -1) {
            out[i] = digits[Int(v & 0xF)]
            v >>= 4
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// 32-bit FNV-1a of a rule name: the compact key of a rule's episode in the account state.
    public static func ruleKey(_ name: String) -> UInt32 {
        var hash: UInt32 = 0x811c_9dc5
        for byte in name.utf8 {
            hash ^= UInt32(byte)
            hash = hash &* 0x0100_0193
        }
        return hash
    }

    /// The id of alert `seq` (0-based) of the episode of `rule` (of `type`) that opened at
    /// `openedAt` (ms) for `accountId`: the id `RulesEngine` gives it.
    public static func episodeAlert(accountId: String, type: AlertType, rule: String, openedAt: Int64, seq: Int)
        -> String
    {
        make([accountId, type.rawValue, rule, String(openedAt), String(seq)])
    }
}
