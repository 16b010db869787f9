import AlertRules
import Contracts
import Testing

@Suite struct AlertIdTests {
    typealias T = TestSupport

    @Test func fnvIsTheStandardFunction() {
        // FNV-1a 64 of no bytes is the offset basis; of "a" + separator it is fixed forever.
        #expect(AlertId.fnv1a64([]) == 0xcbf2_9ce4_8422_2325)
        #expect(AlertId.make(["a"]) == "089be907b544fdc9")  // computed independently (Python)
        #expect(AlertId.make(["a"]).count == 16)
        #expect(AlertId.make(["ab", "c"]) != AlertId.make(["a", "bc"]))
    }

    @Test func sameAccountTypeAndEpisodeGiveTheSameIdInEveryRun() throws {
        let yaml = T.rules(T.atRiskRule)
        func ids() throws -> [String] {
            var run = Run(try T.engine(yaml))
            return run.feed(T.record(at: "2026-11-02T12:00:00Z", score: 60)).map(\.alertId)
                + run.feed(T.record(at: "2026-11-03T12:00:00Z", score: 30)).map(\.alertId)
        }
        let a = try ids()
        let b = try ids()
        #expect(a.count == 2)
        #expect(a == b)
        // The literal value pins the scheme: changing it would re-post alerts after an upgrade.
        // (FNV-1a 64 of "acme|customer_at_risk|at-risk|1793620800000|0|" with 0x1F separators, computed in Python.)
        #expect(a[0] == "8105cfef4fc80267")
        // Another account, same times: another id.
        var other = Run(try T.engine(yaml))
        #expect(other.feed(T.record("globex", at: "2026-11-02T12:00:00Z", score: 60)).map(\.alertId) != [a[0]])
    }
}
