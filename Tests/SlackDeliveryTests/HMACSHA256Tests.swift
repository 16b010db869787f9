import Testing

@testable import SlackDelivery

@Suite("HMAC-SHA256 (swift-crypto behind our facade) against published vectors")
struct HMACSHA256Tests {
    func bytes(hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var it = hex.makeIterator()
        while let a = it.next(), let b = it.next() { out.append(UInt8(String([a, b]), radix: 16)!) }
        return out
    }

    @Test("RFC 4231 test cases 1, 2, 3, 4, 6, 7")
    func rfc4231() {
        let cases: [([UInt8], [UInt8], String)] = [
            (
                [UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8),
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
            ),
            (
                Array("Jefe".utf8), Array("what do ya want for nothing?".utf8),
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
            ),
            (
                [UInt8](repeating: 0xaa, count: 20), [UInt8](repeating: 0xdd, count: 50),
                "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"
            ),
            (
                bytes(hex: "0102030405060708090a0b0c0d0e0f10111213141516171819"), [UInt8](repeating: 0xcd, count: 50),
                "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"
            ),
            (
                [UInt8](repeating: 0xaa, count: 131),
                Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
            ),
            (
                [UInt8](repeating: 0xaa, count: 131),
                Array(
                    "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm."
                        .utf8), "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"
            ),
        ]
        for (key, msg, expected) in cases {
            #expect(HMACSHA256.hex(HMACSHA256.mac(key: key, message: msg)) == expected)
            #expect(HMACSHA256.isValid(bytes(hex: expected), key: key, message: msg))
        }
    }

    @Test func aChangedMessageKeyOrMACIsNotValid() {
        let key = Array("k".utf8)
        let msg = Array("message".utf8)
        let mac = HMACSHA256.mac(key: key, message: msg)
        #expect(HMACSHA256.isValid(mac, key: key, message: msg))
        #expect(!HMACSHA256.isValid(mac, key: Array("K".utf8), message: msg))
        #expect(!HMACSHA256.isValid(mac, key: key, message: msg + [0]))
        var forged = mac
        forged[31] ^= 1
        #expect(!HMACSHA256.isValid(forged, key: key, message: msg))
        #expect(!HMACSHA256.isValid(Array(mac.prefix(16)), key: key, message: msg))
    }

    /// The generic webhook signature of a fixed body, as Python's `hmac` computes it:
    /// `hmac.new(b"topsecret", b'v1:1700000000:{"a":1}', hashlib.sha256).hexdigest()`.
    @Test func webhookSignatureMatchesAnIndependentImplementation() {
        let sig = GenericWebhookPayload.signature(
            body: Array(#"{"a":1}"#.utf8), unixSeconds: 1_700_000_000, secret: SigningSecret("topsecret"))
        #expect(sig == "v1=d20dbd311ee1656bcc5b383fbc88cdd23d89eaecb35e9144ed1373452092caca")
    }

    @Test func webhookSignatureCoversTimestampAndBody() throws {
        let body = try GenericWebhookPayload.body(for: Fixtures.alert(.customerAtRisk))
        let secret = SigningSecret("k")
        let sig = GenericWebhookPayload.signature(body: body, unixSeconds: 1_700_000_000, secret: secret)
        let expected =
            "v1=" + HMACSHA256.hex(HMACSHA256.mac(key: Array("k".utf8), message: Array("v1:1700000000:".utf8) + body))
        #expect(sig == expected)
        #expect(sig != GenericWebhookPayload.signature(body: body, unixSeconds: 1_700_000_001, secret: secret))
        let json = Fixtures.json(body)
        #expect(json["event"] as? String == "alert")
        #expect((json["alert"] as? [String: Any])?["alert_id"] as? String == "al-customer_at_risk-acme-1")
    }
}
