import Crypto

/// SHA-256 of bytes as lower-case hex (swift-crypto), for dead letters of oversized records.
enum SHA256Hex {
    static func digest(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}
