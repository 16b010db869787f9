import AlertRules
import Backtest
import Contracts
import HealthModel
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
    /// (47, 57, 65, 78, 89, 111, 138, 145, 154, 156 h): the tenth now at 154 h, and the three whose
    /// onset falls on the holiday every account shares (a Thursday and Friday) are no longer
    /// "detected" by the holiday's own fleet-wide drop (at 66, 39 and 37 h before, the drop that
    /// raised 97 false alerts on ordinary accounts) but on the account's own working days after it.
    @Test func everySuddenCollapseIsDetectedWithin170Hours() throws {
        let figures = try #require(Self.figures, "config/rules.yaml parses")
        let collapse = try #require(figures.stories.first { $0.story == .suddenCollapse })
        #expect(collapse.accounts == 10)
        #expect(collapse.missed == 0, "hours of the detected ones: \(collapse.hours)")
        #expect((collapse.hours.last ?? .infinity) <= 170, "hours: \(collapse.hours)")
        #expect((collapse.quantile(0.5) ?? .infinity) <= 90, "hours: \(collapse.hours)")
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
