import Contracts
import Foundation
import Testing

@testable import SlackDelivery

@Suite("Feedback links: signed, expiring, single-use URLs behind the Useful / Not useful buttons")
struct FeedbackLinkTests {
    let signer = FeedbackLinkSigner(
        baseURL: "https://fleet.example.com/", secret: SigningSecret("feedback-secret"), lifetimeMs: 86_400_000)
    let now = Timestamp(year: 2026, month: 11, day: 20, hour: 12)

    func link(_ verdict: FeedbackVerdict = .useful, rule: String = "account-at-risk") -> FeedbackLink {
        FeedbackLink(
            alertId: "8f3c1af3e2f71128", verdict: verdict, destination: "cs-escalations", rule: rule,
            expiresAt: now.adding(days: 1))
    }

    func query(_ url: String) -> String { String(url.split(separator: "?", maxSplits: 1)[1]) }

    @Test func aSignedLinkVerifiesToItsFields() throws {
        let url = signer.url(for: link())
        #expect(
            url.hasPrefix(
                "https://fleet.example.com/feedback?a=8f3c1af3e2f71128&v=useful&d=cs-escalations&r=account-at-risk&exp=1795262400&sig="
            ))
        let verified = try signer.verify(query: query(url), now: now).get()
        #expect(verified == link())
        #expect(
            verified.record(at: now)
                == FeedbackRecord(
                    alertId: "8f3c1af3e2f71128", rule: "account-at-risk", destination: "cs-escalations",
                    verdict: .useful,
                    recordedAt: now, linkId: link().id, linkExpiresAt: now.adding(days: 1)))
    }

    /// The link id is SHA-256 of the signed bytes, as an independent implementation computes it (Python):
    /// `base64.urlsafe_b64encode(hashlib.sha256(b"fleet-feedback-v1|16:8f3c1af3e2f71128|6:useful|14:cs-escalations|15:account-at-risk|10:1795262400").digest()).rstrip(b"=")`.
    /// It does not depend on the secret and is not the signature.
    @Test func theLinkIdIsADigestOfTheFieldsNotTheSignature() {
        #expect(link().id == Self.pythonLinkId)
        #expect(link().id != signer.signature(of: link()))
        #expect(link().id != link(.notUseful).id)
    }

    static let pythonLinkId = "YqQL8nECDRfWOe1SkPzmLzgIJD_i9FJizDrTweAoAWo"

    @Test func aRotationAcceptsThePreviousSecretAndSignsWithTheCurrentOne() throws {
        let old = signer
        let rotated = FeedbackLinkSigner(
            baseURL: "https://fleet.example.com", secret: SigningSecret("feedback-secret-2"),
            previousSecret: SigningSecret("feedback-secret"), lifetimeMs: 86_400_000)
        // A link posted before the rotation still works, as the same link (same id).
        let posted = query(old.url(for: link()))
        #expect(try rotated.verify(query: posted, now: now).get().id == link().id)
        // New links are signed with the new secret: the old signer no longer accepts them.
        let fresh = query(rotated.url(for: link()))
        #expect(rotated.signature(of: link()) != old.signature(of: link()))
        #expect(old.verify(query: fresh, now: now) == .failure(.badSignature))
        #expect(try rotated.verify(query: fresh, now: now).get() == link())
        // A third secret is still forged; and a link used before the rotation is still a replay after it.
        let stranger = FeedbackLinkSigner(baseURL: "https://fleet.example.com", secret: SigningSecret("guess"))
        #expect(rotated.verify(query: query(stranger.url(for: link())), now: now) == .failure(.badSignature))
        var seen = FeedbackReplayGuard()
        #expect(old.accept(query: posted, now: now, guard: &seen) == .success(link()))
        #expect(rotated.accept(query: posted, now: now, guard: &seen) == .failure(.replayed))
        #expect(rotated.accept(query: fresh, now: now, guard: &seen) == .failure(.replayed))
        #expect(!"\(rotated)".contains("feedback-secret") && !String(reflecting: rotated).contains("feedback-secret"))
    }

    @Test func theGuardRemembersLinksUsedElsewhereUntilTheyExpire() {
        var seen = FeedbackReplayGuard()
        seen.remember(id: link().id, expiresAt: link().expiresAt, now: now)
        seen.remember(id: link().id, expiresAt: link().expiresAt, now: now)
        #expect(seen.count == 1)
        #expect(signer.accept(query: query(signer.url(for: link())), now: now, guard: &seen) == .failure(.replayed))
        // An expired link read back is not kept (it is refused as expired anyway).
        seen.remember(id: "old", expiresAt: now.adding(milliseconds: -1), now: now)
        #expect(!seen.contains(id: "old") && seen.count == 1)
    }

    /// The signature as an independent implementation computes it (Python):
    /// `base64.urlsafe_b64encode(hmac.new(b"feedback-secret", b"fleet-feedback-v1|16:8f3c1af3e2f71128|6:useful|14:cs-escalations|15:account-at-risk|10:1795262400", hashlib.sha256).digest()).rstrip(b"=")`.
    @Test func theSignatureCoversTheDocumentedBytes() {
        #expect(signer.signature(of: link()) == "upq_qIUl_qElfIY-QTMjXBIIYSj28HO2labFzuVWrc0")
    }

    @Test func forgedOrAlteredLinksAreRefused() {
        let q = query(signer.url(for: link()))
        // Another verdict, alert, destination, rule or expiry under the same signature.
        for (from, to) in [
            ("v=useful", "v=not_useful"), ("a=8f3c1af3e2f71128", "a=8f3c1af3e2f71129"),
            ("d=cs-escalations", "d=customer-health"),
            ("r=account-at-risk", "r=usage-upsell"), ("exp=1795262400", "exp=1895262400"),
        ] {
            #expect(
                signer.verify(query: q.replacingOccurrences(of: from, with: to), now: now) == .failure(.badSignature),
                "\(to)")
        }
        // Another secret.
        let other = FeedbackLinkSigner(baseURL: "https://fleet.example.com", secret: SigningSecret("guess"))
        #expect(signer.verify(query: query(other.url(for: link())), now: now) == .failure(.badSignature))
        // A signature one bit off.
        let sig = signer.signature(of: link())
        let flipped = String(sig.dropLast()) + (sig.last == "A" ? "B" : "A")
        #expect(
            signer.verify(query: q.replacingOccurrences(of: sig, with: flipped), now: now) == .failure(.badSignature))
    }

    @Test func malformedLinksAreRefused() {
        let q = query(signer.url(for: link()))
        #expect(signer.verify(query: "", now: now) == .failure(.malformed("missing a")))
        #expect(
            signer.verify(query: q.replacingOccurrences(of: "v=useful", with: "v=maybe"), now: now)
                == .failure(.malformed("unknown verdict")))
        #expect(signer.verify(query: q + "&a=other", now: now) == .failure(.malformed("repeated parameter a")))
        #expect(
            signer.verify(query: q.replacingOccurrences(of: "exp=1795262400", with: "exp=soon"), now: now)
                == .failure(.malformed("bad exp")))
        if case .failure(.malformed) = signer.verify(
            query: q.replacingOccurrences(of: "sig=", with: "sig=%%"), now: now)
        {
        } else {
            Issue.record("a bad signature encoding is malformed")
        }
    }

    @Test func expiredLinksAreRefused() throws {
        let q = query(signer.url(for: link()))
        #expect(throws: Never.self) {
            try signer.verify(query: q, now: now.adding(days: 1).adding(milliseconds: -1000)).get()
        }
        #expect(signer.verify(query: q, now: now.adding(days: 1)) == .failure(.expired))
    }

    @Test func namesWithReservedCharactersRoundTrip() throws {
        let odd = FeedbackLink(
            alertId: "a&b=c", verdict: .notUseful, destination: "team #1/ops", rule: "rule with spaces+ü",
            expiresAt: now.adding(days: 1))
        let url = signer.url(for: odd)
        #expect(!url.contains(" ") && url.components(separatedBy: "&").count == 6)
        #expect(try signer.verify(query: query(url), now: now).get() == odd)
    }

    @Test func aLinkWorksOnceThenIsAReplay() {
        var seen = FeedbackReplayGuard()
        let q = query(signer.url(for: link()))
        let first = signer.accept(query: q, now: now, guard: &seen)
        #expect(first == .success(link()))
        let again = signer.accept(query: q, now: now, guard: &seen)
        #expect(again == .failure(.replayed))
        // The other verdict is another link: a change of mind is recorded once too.
        let other = signer.accept(query: query(signer.url(for: link(.notUseful))), now: now, guard: &seen)
        #expect(other == .success(link(.notUseful)))
        // A forged link is not remembered (nothing recorded for it).
        let before = seen.count
        _ = signer.accept(query: q.replacingOccurrences(of: "r=account-at-risk", with: "r=x"), now: now, guard: &seen)
        #expect(seen.count == before)
    }

    /// `guard.admit` outside the #expect macro (which cannot call a mutating method).
    func admit(_ g: inout FeedbackReplayGuard, _ link: FeedbackLink, signature: String, now: Timestamp) -> Bool {
        g.admit(link, id: signature, now: now)
    }

    @Test func theGuardIsBounded() {
        var seen = FeedbackReplayGuard(capacity: 3)
        func l(_ n: Int, expires: Int64) -> FeedbackLink {
            FeedbackLink(
                alertId: "a\(n)", verdict: .useful, destination: "d", rule: "r", expiresAt: now.adding(days: expires))
        }
        #expect(admit(&seen, l(1, expires: 1), signature: "s1", now: now))
        #expect(admit(&seen, l(2, expires: 3), signature: "s2", now: now))
        #expect(admit(&seen, l(3, expires: 2), signature: "s3", now: now))
        #expect(!admit(&seen, l(2, expires: 3), signature: "s2", now: now))
        // Full of live links: the one expiring soonest (s1) is forgotten for the new one.
        #expect(admit(&seen, l(4, expires: 5), signature: "s4", now: now))
        #expect(seen.count == 3)
        #expect(!admit(&seen, l(3, expires: 2), signature: "s3", now: now))
        // Later, expired links are dropped first.
        #expect(admit(&seen, l(5, expires: 9), signature: "s5", now: now.adding(days: 4)))
        #expect(seen.count == 2)  // s4 and s5 live; s2 and s3 expired and were dropped
    }

    @Test func theSignerNeverShowsItsSecret() {
        #expect(!"\(signer)".contains("feedback-secret"))
        #expect(!String(reflecting: signer).contains("feedback-secret"))
    }
}

@Suite("Rendering: feedback buttons")
struct FeedbackButtonTests {
    let signer = FeedbackLinkSigner(baseURL: "https://fleet.example.com", secret: SigningSecret("s"))

    @Test func anAlertDeliveredDaysAfterItWasRaisedGetsLinksThatWorkFromItsDeliveryDay() throws {
        let now = Timestamp(year: 2026, month: 11, day: 20, hour: 12)
        func query(_ url: String) -> String { String(url.split(separator: "?", maxSplits: 1)[1]) }
        var alert = Fixtures.alert(.customerAtRisk)
        alert.raisedAt = now.adding(days: -100)  // replayed from last quarter's history
        let lateDelivery = now.adding(milliseconds: 5_000)
        let atRaise = signer.links(for: alert)
        let late = signer.links(for: alert, deliveredAt: lateDelivery)
        if case .failure(let refusal) = signer.verify(query: query(atRaise[0].1), now: lateDelivery) {
            #expect(refusal == .expired)
        } else {
            Issue.record("a link anchored at a raise 100 days ago should have expired")
        }
        let verified = try signer.verify(query: query(late[0].1), now: lateDelivery).get()
        #expect(verified.expiresAt == Timestamp.startOfDay(now.epochDay).adding(milliseconds: signer.lifetimeMs))
        // The same day gives the same links (a retry renders the same buttons) ...
        #expect(signer.links(for: alert, deliveredAt: now.adding(milliseconds: 3_600_000)).map(\.1) == late.map(\.1))
        // ... and an alert delivered as it is raised keeps its raise time as the anchor.
        var live = Fixtures.alert(.customerAtRisk)
        live.raisedAt = now
        #expect(
            signer.links(for: live, deliveredAt: now.adding(milliseconds: 800)).map(\.1)
                == signer.links(for: live).map(\.1))
    }

    func actions(_ bytes: [UInt8]) -> [[String: Any]] {
        Fixtures.attachmentBlocks(Fixtures.json(bytes)).filter { $0["type"] as? String == "actions" }
    }

    @Test(
        "with a signer, every single-account alert has Useful and Not useful URL buttons",
        arguments: AlertType.allCases.filter { $0 != .digest })
    func buttons(type: AlertType) throws {
        let renderer = SlackMessageRenderer(feedback: signer)
        let alert = Fixtures.alert(type)
        let bytes = renderer.render(alert)
        #expect(BlockKitValidator.validate(message: bytes) == [])
        let block = try #require(actions(bytes).first { $0["block_id"] as? String == "feedback" })
        let elements = try #require(block["elements"] as? [[String: Any]])
        #expect(elements.map { ($0["text"] as? [String: Any])?["text"] as? String } == ["Useful", "Not useful"])
        let urls = elements.compactMap { $0["url"] as? String }
        #expect(urls == signer.links(for: alert).map(\.1))
        let query = String(urls[1].split(separator: "?")[1])
        let link = try signer.verify(query: query, now: alert.raisedAt).get()
        #expect(
            link.alertId == alert.alertId && link.verdict == .notUseful && link.destination == alert.destination
                && link.rule == alert.rule)
        #expect(link.expiresAt == alert.raisedAt.adding(days: 30))
    }

    @Test func withoutASignerOrForADigestThereAreNone() {
        #expect(
            !actions(SlackMessageRenderer().render(Fixtures.alert(.customerAtRisk))).contains {
                $0["block_id"] as? String == "feedback"
            })
        #expect(actions(SlackMessageRenderer(feedback: signer).render(Fixtures.alert(.digest))).isEmpty)
    }

    @Test func theSameAlertGivesTheSameBytes() {
        let renderer = SlackMessageRenderer(feedback: signer)
        #expect(renderer.render(Fixtures.alert(.customerAtRisk)) == renderer.render(Fixtures.alert(.customerAtRisk)))
    }
}
