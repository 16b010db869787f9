import Contracts
import Testing

@testable import SlackDelivery

/// Slack's `v0` request signatures: the documented example, and every way a request is refused.
@Suite struct SlackRequestSignatureTests {
    /// Slack's example in "Verifying requests from Slack" (its signing secret, timestamp, slash
    /// command body and signature; the expected value cross-checked with Python's hmac module).
    static let exampleSecret = SigningSecret("8f742231b10e8888abcd99yyyzzz85a5")
    static let exampleTimestamp = "1531420618"
    static let exampleBody = Array(
        ("token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
            + "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
            + "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
            + "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c").utf8)
    static let exampleSignature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    static let exampleNow = Timestamp(millisecondsSinceEpoch: 1_531_420_618_000)

    @Test func slacksDocumentedExampleVerifies() {
        let verifier = SlackRequestVerifier(secret: Self.exampleSecret)
        #expect(
            verifier.refusal(
                timestamp: Self.exampleTimestamp, signature: Self.exampleSignature, body: Self.exampleBody,
                now: Self.exampleNow) == nil)
        #expect(verifier.signature(timestamp: 1_531_420_618, body: Self.exampleBody) == Self.exampleSignature)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var timestamp: String?
        var signature: String?
        var body: [UInt8] = SlackRequestSignatureTests.exampleBody
        /// Seconds between the request's timestamp and now.
        var nowOffset: Int64 = 0
        var expected: SlackSignatureRefusal?
        var testDescription: String { name }
    }

    static let sig = exampleSignature
    static let cases: [Case] = [
        Case(name: "signed, now", timestamp: exampleTimestamp, signature: sig, expected: nil),
        Case(name: "upper-case hex", timestamp: exampleTimestamp, signature: "v0=" + sig.dropFirst(3).uppercased()),
        Case(name: "299 s late", timestamp: exampleTimestamp, signature: sig, nowOffset: 299, expected: nil),
        Case(name: "300 s late: the window's edge", timestamp: exampleTimestamp, signature: sig, nowOffset: 300),
        Case(name: "301 s late", timestamp: exampleTimestamp, signature: sig, nowOffset: 301, expected: .stale),
        Case(name: "301 s early", timestamp: exampleTimestamp, signature: sig, nowOffset: -301, expected: .stale),
        Case(name: "a day late", timestamp: exampleTimestamp, signature: sig, nowOffset: 86_400, expected: .stale),
        Case(name: "no timestamp", timestamp: nil, signature: sig, expected: .missingHeaders),
        Case(name: "no signature", timestamp: exampleTimestamp, signature: nil, expected: .missingHeaders),
        Case(
            name: "body altered", timestamp: exampleTimestamp, signature: sig, body: exampleBody + [0x20],
            expected: .badSignature),
        Case(
            name: "last digit flipped", timestamp: exampleTimestamp, signature: String(sig.dropLast()) + "4",
            expected: .badSignature),
        Case(
            name: "signature of another secret", timestamp: exampleTimestamp,
            signature: SlackRequestVerifier(secret: SigningSecret("another-secret-0123456789abcdef00"))
                .signature(timestamp: 1_531_420_618, body: exampleBody), expected: .badSignature),
        Case(name: "v1 scheme", timestamp: exampleTimestamp, signature: "v1=" + sig.dropFirst(3), expected: .malformed),
        Case(name: "short mac", timestamp: exampleTimestamp, signature: String(sig.dropLast(2)), expected: .malformed),
        Case(
            name: "not hex", timestamp: exampleTimestamp, signature: "v0=" + String(repeating: "zz", count: 32),
            expected: .malformed),
        Case(name: "odd length", timestamp: exampleTimestamp, signature: sig + "0", expected: .malformed),
        Case(
            name: "huge signature", timestamp: exampleTimestamp,
            signature: "v0=" + String(repeating: "ab", count: 10_000), expected: .malformed),
        Case(name: "timestamp not a number", timestamp: "1531420618.5", signature: sig, expected: .malformed),
        Case(name: "negative timestamp", timestamp: "-1", signature: sig, expected: .malformed),
        Case(name: "timestamp past Int64", timestamp: "99999999999999999999", signature: sig, expected: .malformed),
        Case(name: "timestamp with spaces", timestamp: " 1531420618", signature: sig, expected: .malformed),
    ]

    @Test(arguments: cases) func refusal(_ c: Case) {
        let verifier = SlackRequestVerifier(secret: Self.exampleSecret)
        let now = Timestamp(millisecondsSinceEpoch: Self.exampleNow.millisecondsSinceEpoch + c.nowOffset * 1000)
        #expect(verifier.refusal(timestamp: c.timestamp, signature: c.signature, body: c.body, now: now) == c.expected)
    }

    @Test func theSecretIsInNoDescription() {
        let verifier = SlackRequestVerifier(secret: Self.exampleSecret)
        for text in [
            "\(verifier)", String(reflecting: verifier), "\(Mirror(reflecting: verifier).children.map { "\($0)" })",
        ] {
            #expect(!text.contains("8f742231"), "\(text)")
        }
    }
}
