import Foundation
import Logging
import TestSupport
import Testing

@testable import WorkerRuntime

@Suite struct JSONLogHandlerTests {
    final class Lines: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        func append(_ line: String) { lock.withLock { lines.append(line) } }
        var all: [String] { lock.withLock { lines } }
    }

    @Test func writesOneParsableJSONObjectPerLine() throws {
        let lines = Lines()
        var logger = Logger(label: "scorer") { JSONLogHandler(label: $0, write: lines.append) }
        logger[metadataKey: "stage"] = "ingest-scorer"
        logger.info(
            "record dead-lettered", metadata: ["reason": "occurred_at: \"bad\"\nnext line \u{1}", "offset": "42"])
        let line = try #require(lines.all.first)
        #expect(line.hasSuffix("}\n"))
        #expect(line.filter { $0 == "\n" }.count == 1, "one line per event")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        #expect(object["msg"] == "record dead-lettered")
        #expect(object["level"] == "info")
        #expect(object["logger"] == "scorer")
        #expect(object["stage"] == "ingest-scorer")
        #expect(object["reason"] == "occurred_at: \"bad\"\nnext line \u{1}")
        #expect(object["offset"] == "42")
        #expect(object["ts"]?.hasSuffix("Z") == true)
    }

    /// `ts` is the injected clock's time, to the millisecond: a test moves it, nothing waits.
    @Test func stampsEachLineWithTheInjectedClock() throws {
        let lines = Lines()
        let time = ManualClock(milliseconds: 1_795_168_800_000)
        let logger = Logger(label: "evaluator") { JSONLogHandler(label: $0, write: lines.append, clock: time.clock) }
        logger.info("first")
        time.advance(by: .milliseconds(1_250))
        logger.info("second")
        let stamps = try lines.all.map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])["ts"]
        }
        #expect(stamps == ["2026-11-20T10:00:00Z", "2026-11-20T10:00:01.250Z"])
    }
}
