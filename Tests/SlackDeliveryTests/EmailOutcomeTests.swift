import Contracts
import Testing

@testable import SlackDelivery

/// What an SMTP server's answer means for the dispatcher (pure).
@Suite("Email outcomes: SMTP replies classified like HTTP answers")
struct EmailOutcomeTests {
    static let now = Timestamp(millisecondsSinceEpoch: 1_796_519_828_000)
    static let classifier = ResponseClassifier(transientBackoffSeconds: 2)

    @Test(
        "reply codes",
        arguments: [
            (250, "delivered"), (251, "delivered"), (421, "smtp_421"), (450, "smtp_450"), (451, "smtp_451"),
            (452, "smtp_452"), (550, "smtp_550"), (553, "smtp_553"), (554, "smtp_554"), (0, "connection_failed"),
        ])
    func replyCodes(_ code: Int, _ expected: String) {
        let outcome = Self.classifier.classify(
            .response(status: code, body: [], retryAfter: nil), kind: .email, now: Self.now)
        #expect(outcome.code == expected)
        switch code {
        case 400..<500, 0:
            #expect(outcome == .retryLater(outcome.retryReason!, notBefore: Self.now.adding(milliseconds: 2000)))
        case 500..<600: #expect(outcome == .permanent(.smtpRejected(code: code)))
        default: #expect(outcome.isDelivered)
        }
    }

    @Test("a refused login is permanent; a failed connection or TLS handshake is retried")
    func failures() {
        let c = Self.classifier
        #expect(c.classify(.failure(.loginDenied), kind: .email, now: Self.now) == .permanent(.smtpLoginDenied))
        #expect(c.classify(.failure(.tls(detail: "x")), kind: .email, now: Self.now).code == "tls_failed")
        #expect(c.classify(.failure(.connection(detail: "x")), kind: .email, now: Self.now).code == "connection_failed")
        #expect(c.classify(.failure(.timeout), kind: .email, now: Self.now).code == "timeout")
    }
}

extension DeliveryOutcome {
    fileprivate var retryReason: RetryReason? {
        if case .retryLater(let r, _) = self { return r }
        return nil
    }
}
