import AlertRules
import Backtest
import Contracts
import Foundation
import Testing

@Suite struct HTMLReportTests {
    static let figures = BacktestFigures(
        run: Fixtures.result.primary, from: Fixtures.result.firstEventAt, to: Fixtures.result.lastEventAt)
    static let page = BacktestHTML.page(Fixtures.result, figures: figures)

    @Test func isSelfContained() {
        let page = Self.page
        #expect(page.hasPrefix("<!DOCTYPE html>"))
        for external in ["<link", "src=", "@import", "url(", "https://", "//cdn"] {
            #expect(!page.contains(external), "the page refers to something outside it: \(external)")
        }
        // The only "http" is the SVG namespace, which is a name, not a fetch.
        #expect(
            page.components(separatedBy: "http://").count - 1 == page.components(
                separatedBy: "xmlns=\"http://www.w3.org/2000/svg\""
            ).count - 1)
    }

    @Test func holdsTheFiguresAndEveryAccount() {
        let page = Self.page
        for section in [
            "summary", "by-destination", "by-type", "by-priority", "by-week", "noisy-accounts", "noisy-rules",
            "accounts", "alerts",
        ] {
            #expect(page.contains("<section id=\"\(section)\">"), "section \(section)")
        }
        for series in Fixtures.result.series {
            #expect(page.contains("<option value=\"\(series.accountId)\""))
            #expect(page.contains("<div class=\"account\" id=\"account-\(series.accountId)\""))
        }
        #expect(page.components(separatedBy: "<tr class=\"alert-row").count - 1 == Self.figures.alerts.count)
        #expect(
            page.components(separatedBy: "<g class=\"alert-marker\"").count - 1 == Self.figures.alerts.count,
            "each alert marked on its account's chart")
        #expect(page.contains("id=\"total-alerts\">\(Self.figures.alerts.count)<"))
    }

    @Test func escapesWhatItShows() throws {
        var result = Fixtures.result
        result.series[0].profile.name = "<script>alert('x')</script> & Co"
        let page = BacktestHTML.page(result, figures: Self.figures, title: "a <b> title")
        #expect(!page.contains("<script>alert"))
        #expect(page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Co"))
        #expect(page.contains("<title>a &lt;b&gt; title</title>"))
    }
}
