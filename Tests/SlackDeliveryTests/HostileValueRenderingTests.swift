import Contracts
import Foundation
import Testing

@testable import SlackDelivery

/// Numbers from records are untrusted: an account's `mrr`, a billing event's `amount` or a
/// signal's `impact` can be anything a producer wrote (1e17, 9.3e18, 1e300, -0). Rendering is
/// total: every value gives a message, never a trap (issue 22, row 1).
@Suite("Rendering: hostile numbers and texts never trap")
struct HostileValueRenderingTests {
    let renderer = SlackMessageRenderer()

    @Test(
        "grouped(_:decimals:) is total: grouped digits below 2^53, Swift's plain form above, ? for inf and nan",
        arguments: [
            (12_400.0, false, "12,400"),
            (1_200.5, true, "1,200.50"),
            (999_999_999_999_999.0, false, "999,999,999,999,999"),
            (-12_400.0, false, "-12,400"),
            (1e15, false, "1,000,000,000,000,000"),
            (9_007_199_254_740_991.0, false, "9,007,199,254,740,991"),
            (9_007_199_254_740_992.0, false, "9007199254740992.0"),
            (12_400.999, false, "12,401"),
            (12_400.7, false, "12,400"),
            (-0.4, false, "0"),
            (-0.4, true, "-0.40"),
            (0.999, true, "1.00"),
            (1e17, false, "1e+17"),
            (1e17, true, "1e+17"),
            (9.3e18, false, "9.3e+18"),
            (-9.3e18, true, "-9.3e+18"),
            (-1e300, false, "-1e+300"),
            (Double.greatestFiniteMagnitude, false, "1.7976931348623157e+308"),
            (Double.infinity, false, "?"),
            (-Double.infinity, true, "?"),
            (Double.nan, false, "?"),
            (-0.0, false, "0"),
            (-0.0, true, "0.00"),
            (-0.001, true, "0.00"),
            (Double.leastNonzeroMagnitude, true, "0.00"),
        ] as [(Double, Bool, String)])
    func groupedIsTotal(value: Double, decimals: Bool, expected: String) {
        #expect(SlackMessageRenderer.grouped(value, decimals: decimals) == expected)
    }

    /// Every alert type with a hostile MRR, billing amount and signal impact renders a message that
    /// passes the Block Kit checker and shows the documented form.
    @Test(
        "an alert with mrr, amount and impact out of any range renders",
        arguments: [1e17, 9.3e18, -9.3e18, 1e300, .infinity, .nan, -0.0])
    func hostileAlertRenders(value: Double) throws {
        for type in AlertType.allCases {
            var alert = Fixtures.alert(type)
            alert.score?.profile.mrr = value
            alert.score?.signals = [Signal(code: "x", family: .commercial, text: "odd", impact: value)]
            alert.score?.positiveSignals = [Signal(code: "y", family: .commercial, text: "odd too", impact: value)]
            if alert.trigger != nil { alert.trigger?.amount = value }
            let bytes = renderer.render(alert)
            #expect(BlockKitValidator.validate(message: bytes) == [], "\(type) with \(value)")
            let web = renderer.renderForWebAPI(try AlertGroup([alert]), channel: "C1")
            #expect(!web.isEmpty)
            // A generic webhook carries the record as JSON, which has no NaN or infinity: the
            // deliverer dead-letters such an alert (`render_failed`), it never traps.
            if value.isFinite || (alert.score == nil && alert.trigger == nil) {
                _ = try GenericWebhookPayload.body(for: alert)
            } else {
                #expect(throws: (any Error).self) { try GenericWebhookPayload.body(for: alert) }
            }
        }
        var alert = Fixtures.alert(.customerAtRisk)
        alert.score?.profile.mrr = value
        let texts = Fixtures.allTexts(Fixtures.json(renderer.render(alert))).joined(separator: "\n")
        // The magnitude: a currency symbol goes between the sign and the digits (-$9.3e+18).
        #expect(texts.contains(SlackMessageRenderer.grouped(abs(value), decimals: false)), "\(texts)")
    }

    /// A signal's impact is shown in points of the 0-100 score: clamped to ±100 (documented).
    @Test(
        "signal impacts are clamped to the score's scale",
        arguments: [
            (1e20, "(added 100 points)"), (-9.3e18, "(cost 100 points)"), (-12.4, "(cost 12 points)"),
            (Double.nan, nil),
            (Double.infinity, nil),
        ] as [(Double, String?)])
    func impactIsClamped(impact: Double, shown: String?) {
        var alert = Fixtures.alert(.customerAtRisk)
        alert.score?.signals = [Signal(code: "x", family: .commercial, text: "odd", impact: impact)]
        let line = renderer.signalLines(alert).first ?? ""
        if let shown { #expect(line.hasSuffix(shown), "\(line)") } else { #expect(line == "• odd", "\(line)") }
    }

    /// Group messages (several alerts about one account) go through the same number paths.
    @Test("a group of alerts with hostile numbers renders")
    func hostileGroupRenders() throws {
        var risk = Fixtures.alert(.customerAtRisk)
        risk.score?.profile.mrr = 9.3e18
        risk.score?.signals = [Signal(code: "x", family: .commercial, text: "odd", impact: -1e300)]
        var billing = Fixtures.alert(.billingRetryFailed)
        billing.alertId = "al-billing-2"
        billing.trigger?.amount = -Double.greatestFiniteMagnitude
        let group = try AlertGroup([risk, billing])
        #expect(BlockKitValidator.validate(message: renderer.render(group)) == [])
    }

    /// Texts with odd Unicode (lone combining marks, flags, ZWJ sequences, a U+2028) and huge
    /// lengths are cut within Block Kit's limits without trapping.
    @Test("odd Unicode and huge texts are cut within the limits")
    func oddUnicode() {
        let odd = [
            "\u{301}\u{301}\u{301}", String(repeating: "🇫🇷", count: 4000), String(repeating: "👩‍👩‍👧‍👦", count: 3000),
            String(repeating: "e\u{301}", count: 5000) + "\u{2028}<&>", String(repeating: "&", count: 10_000), "",
        ]
        for text in odd {
            var alert = Fixtures.alert(.healthScoreDrop)
            alert.score?.profile.name = text
            alert.suggestedAction = text
            alert.rule = text
            alert.score?.signals = [Signal(code: "x", family: .commercial, text: text, impact: -3)]
            #expect(
                BlockKitValidator.validate(message: renderer.render(alert)) == [],
                "text of \(text.unicodeScalars.count) scalars")
        }
    }
}
