import AlertRules
import Backtest
import Contracts
import HealthModel
import TestSupport
import Testing

/// The current model's time to detect on the labelled benchmark, as a floor: a change that detects
/// the clearest stories later, or misses them, fails here. The bounds are the figures measured on
/// this history with population-aware baselines, before evidence-driven timing (issue 28), so a
/// faster model passes.
@Suite struct DetectionBoundTests {
    /// 90 accounts, ten of each story type, the benchmark's 75 days and 40-day warm-up; backtested
    /// once with `config/rules.yaml` and the default scoring, as `fleet-admin bench detection` does.
    static let figures: DetectionFigures? = {
        guard let engine = try? Fixtures.rules() else { return nil }
        let history = LabelledHistory(options: .init(seed: 1, accounts: 90, days: 75, storyShare: 1))
        return DetectionFigures.measure(history, engine: engine)
    }()

    /// Activity falling to a twentieth overnight: measured 9 of 10 detected (p50 71.8 h, the last
    /// after 169.8 h) before population-aware baselines; the tenth raised no risk alert in the 10
    /// days or more left after its onset. With the population (issue 28 item 3) all 10 are detected
    /// (47.8, 58.0, 65.1, 78.2, 89.1, 111.8, 138.9, 145.8, 154.3, 156.7 h): the tenth now at 154 h,
    /// three after the holiday faster (169 -> 145, 71 -> 47, 161 -> 89 h), and the two whose onset
    /// falls on the holiday every account shares (a Thursday and Friday) are no longer "detected" by
    /// the holiday's own fleet-wide drop (at 66 and 39 h before, the drop that raised 97 false alerts
    /// on ordinary accounts) but on the account's own working days after it (138 and 111 h).
    @Test func everySuddenCollapseIsDetectedWithin170Hours() async throws {
        try await CPULane.run {
            let figures = try #require(Self.figures, "config/rules.yaml parses")
            let collapse = try #require(figures.stories.first { $0.story == .suddenCollapse })
            #expect(collapse.accounts == 10)
            #expect(collapse.missed == 0, "hours of the detected ones: \(collapse.hours)")
            #expect((collapse.hours.last ?? .infinity) <= 170, "hours: \(collapse.hours)")
            #expect((collapse.quantile(0.5) ?? .infinity) <= 90, "hours: \(collapse.hours)")
        }
    }

    /// A failed payment and its failed retry: the retry's alert comes with the retry, 72 h after the
    /// first failure, in every account.
    @Test func aFailedRetryIsAlertedWhenItHappens() throws {
        let figures = try #require(Self.figures, "config/rules.yaml parses")
        let payments = try #require(figures.stories.first { $0.story == .paymentFailures })
        #expect(payments.accounts == 10 && payments.missed == 0)
        #expect((payments.hours.last ?? .infinity) <= 72, "hours: \(payments.hours)")
    }
}
