import AlertRules
import Backtest
import Contracts
import Foundation
import TestSupport
import Testing

/// The HTML report opened in headless Chromium (Debian package `chromium`): the DOM after the page's
/// script ran, and a screenshot. Skipped, saying so, where Chromium is not installed.
@Suite(
    .enabled(
        if: Chromium.path != nil,
        "chromium is not installed (apt-get install chromium): the HTML report is not rendered"))
struct ChromiumRenderingTests {
    static func writePage() throws -> URL {
        let result = Fixtures.result
        let other = Fixtures.replacing(
            "# priorities:\n#   medium: {enterprise: P2}", with: "priorities:\n  medium: {enterprise: P2}")
        let both = Backtest.run(Fixtures.sample, engines: [try Fixtures.rules(), try Fixtures.rules(other)])
        let comparison = RuleSetComparison(
            a: BacktestAlert.group(both.runs[0].raised), b: BacktestAlert.group(both.runs[1].raised))
        let figures = BacktestFigures(run: result.primary, from: result.firstEventAt, to: result.lastEventAt)
        let page = BacktestHTML.page(result, figures: figures, comparison: (comparison, "rules.yaml", "other.yaml"))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("backtest-html-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let file = dir.appendingPathComponent("report.html")
        try Data(page.utf8).write(to: file)
        return file
    }

    /// Runs Chromium headless with `arguments` and the page's URL; returns standard output.
    static func chromium(_ arguments: [String], url: String, home: URL) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Chromium.path!)
        process.arguments =
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
                "--user-data-dir=\(home.appendingPathComponent("profile").path)",
            ] + arguments + [url]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "chromium exited with \(process.terminationStatus)")
        return String(decoding: data, as: UTF8.self)
    }

    @Test func theDOMShowsTheChosenAccountWithItsAlerts() async throws {
        try await CPULane.run {
            let file = try Self.writePage()
            let silent = try #require(Fixtures.generator.stories.silent)
            let dom = try Self.chromium(
                ["--dump-dom"], url: file.absoluteString + "#" + silent, home: file.deletingLastPathComponent())
            #expect(
                dom.contains("<body data-selected-account=\"\(silent)\">"),
                "the script chose the account of the address")
            // The chosen account's block is shown, the others hidden.
            let shown = dom.components(separatedBy: "<div class=\"account\"").dropFirst().filter {
                !$0.prefix(200).contains("hidden")
            }
            #expect(shown.count == 1)
            #expect(shown.first?.contains("data-account=\"\(silent)\"") == true)
            let markers = shown.first?.components(separatedBy: "class=\"alert-marker\"").count ?? 1
            let expected = BacktestFigures(run: Fixtures.result.primary).alerts.filter { $0.accountId == silent }.count
            #expect(expected > 0 && markers - 1 == expected, "its alerts marked on its chart")
            #expect(dom.contains("class=\"score-line\""))
            #expect(dom.contains("<section id=\"compare\">") && dom.contains("priority P3 -&gt; P2"))
        }
    }

    @Test func aScreenshotIsDrawn() async throws {
        try await CPULane.run {
            let file = try Self.writePage()
            let png = file.deletingLastPathComponent().appendingPathComponent("report.png")
            _ = try Self.chromium(
                ["--hide-scrollbars", "--window-size=1200,2600", "--screenshot=\(png.path)"],
                url: file.absoluteString + "#" + Fixtures.generator.stories.collapse!,
                home: file.deletingLastPathComponent())
            let data = try Data(contentsOf: png)
            #expect(Array(data.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "a PNG")
            // Width and height from the IHDR chunk.
            let width = data[16..<20].reduce(0) { $0 << 8 | Int($1) }
            let height = data[20..<24].reduce(0) { $0 << 8 | Int($1) }
            #expect(width == 1200 && height == 2600)
            #expect(data.count > 50_000, "charts and text drawn, not a blank page (\(data.count) bytes)")
        }
    }
}

/// Where Chromium is installed, if it is.
enum Chromium {
    static let path: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }
}
