import Contracts
import SlackDelivery

/// Feedback links (the query string of `GET/POST /feedback`, from anyone on the internet):
/// verification never traps; a link the signer wrote, with any alert id, destination and rule,
/// verifies to the same link before it expires and is refused under another secret.
///
/// Input: the query string as sent; its NUL-separated parts also name a link to sign (alert id,
/// destination, rule).
enum FeedbackLinkFuzz {
    static let signer = FeedbackLinkSigner(
        baseURL: "https://fleet.example.com", secret: SigningSecret("fuzz-secret-1"),
        previousSecret: SigningSecret("fuzz-secret-0"))
    static let stranger = FeedbackLinkSigner(
        baseURL: "https://fleet.example.com", secret: SigningSecret("another-secret"))
    static let now = Timestamp(millisecondsSinceEpoch: 1_800_000_000_000)

    static let target = FuzzTarget(name: "feedback-link", summary: "FeedbackLinkSigner.verify (feedback query strings)")
    { input in
        let text = input.text
        if case .success(let link) = signer.verify(query: text, now: now) {
            _ = link.record(at: now)
        }
        let parts = text.split(separator: "\u{0}", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 3, !parts[0].isEmpty, !parts[1].isEmpty, !parts[2].isEmpty else { return }
        let verdict = FeedbackVerdict.allCases[Int(input.count % FeedbackVerdict.allCases.count)]
        let link = FeedbackLink(
            alertId: parts[0], verdict: verdict, destination: parts[1], rule: parts[2],
            expiresAt: now.adding(seconds: 3600))
        let url = signer.url(for: link)
        guard let question = url.firstIndex(of: "?") else { FuzzCheck.fail("no query in \(url)") }
        let query = String(url[url.index(after: question)...])
        guard case .success(let verified) = signer.verify(query: query, now: now) else {
            FuzzCheck.fail("a signed link is refused: \(signer.verify(query: query, now: now)) for \(query)")
        }
        FuzzCheck.require(verified == link, "a signed link verifies to another link: \(query)")
        FuzzCheck.require(verified.id == link.id, "a signed link's id changes")
        guard case .failure(.badSignature) = stranger.verify(query: query, now: now) else {
            FuzzCheck.fail("a link signed under another secret is not refused as badly signed: \(query)")
        }
        guard case .failure(.expired) = signer.verify(query: query, now: now.adding(seconds: 3600)) else {
            FuzzCheck.fail("an expired link is not refused as expired: \(query)")
        }
    }
}
