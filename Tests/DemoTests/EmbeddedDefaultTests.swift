import Foundation
import Testing

/// `scripts/demo`'s job, end to end, as a user runs it: `fleet-admin demo` starts the local broker,
/// the Slack-like sink and the three stage executables as separate processes, feeds the sample, and
/// the stories reach the right channels, once each, and no ordinary account alerts.
@Suite struct EmbeddedDefaultTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        .appendingPathComponent("fleet-admin")

    @Test func demoDeliversTheStoriesOnceAndNothingElse() async throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: Self.binary.path),
            "fleet-admin not built at \(Self.binary.path)")
        let runDirectory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "demo-test-\(UInt32.random(in: 0...UInt32.max))")
        defer { try? FileManager.default.removeItem(at: runDirectory) }
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = [
            "demo", "--accounts", "40", "--days", "45", "--seed", "7", "--run-directory", runDirectory.path,
        ]
        process.currentDirectoryURL = Self.root
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Read to the end off the cooperative pool; the demo stops by itself once the fleet is quiet
        // (or says why not within its own bounded wait).
        let data: Data = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: out.fileHandleForReading.readDataToEndOfFile())
            }
        }
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        #expect(process.terminationStatus == 0, "demo exited \(process.terminationStatus):\n\(text.suffix(2000))")
        let slack = text.split(separator: "\n").filter { $0.hasPrefix("slack #") }.map(String.init)
        let done = try #require(
            text.split(separator: "\n").first { $0.hasPrefix("done in") }, "no summary line:\n\(text.suffix(2000))")
        #expect(done.hasSuffix("duplicates 0"), "\(done)")
        #expect(done.contains(" 0 dead-lettered"), "\(done)")
        #expect(slack.count >= 6, "only \(slack.count) messages reached the sink:\n\(text.suffix(2000))")
        #expect(slack.allSatisfy { $0.contains(" -> 200 ok") }, "\(slack)")
        // The collapse: critical, P1, in the escalation channel, the at-risk alert and the score drop
        // raised together as ONE message; a later message is a reminder because it got worse.
        let collapse = slack.filter {
            $0.hasPrefix("slack #cs-escalations ") && $0.contains("P1 · Critical") && $0.contains("Account 0000")
                && !$0.contains("Not acknowledged:")
        }
        #expect((1...2).contains(collapse.count), "collapse messages in #cs-escalations: \(collapse)")
        #expect(
            collapse.first.map { $0.contains("customer at risk, health score drop") } == true,
            "not grouped: \(collapse)")
        let healths = collapse.compactMap { line in
            line.range(of: #"health \d+"#, options: .regularExpression).map { Int(line[$0].dropFirst(7))! }
        }
        #expect(
            healths == healths.sorted(by: >) && Set(healths).count == healths.count,
            "a second collapse message only as a reminder of a worse score: \(collapse)")
        // The failed billing retry, in the billing channel, once.
        #expect(slack.filter { $0.hasPrefix("slack #billing-alerts ") && $0.contains("Account 0001") }.count == 1)
        // The expansion, in the revenue channel, once.
        #expect(
            slack.filter {
                $0.hasPrefix("slack #revenue-signals ") && $0.contains("expansion signal")
                    && $0.contains("Account 0002")
            }.count == 1)
        // No ordinary account (acct-0006 and up) alerts.
        let ordinary = slack.filter {
            $0.range(of: #"Account 00(0[6-9]|[1-9][0-9])"#, options: .regularExpression) != nil
        }
        #expect(ordinary.isEmpty, "ordinary accounts alerted: \(ordinary)")
        // The lifecycle (issue 24): the collapse, critical, is not acknowledged within the demo's
        // 1-business-hour SLA and escalates, naming the account; then the demo acknowledges an open
        // alert with a signed click and its message is edited in place, not posted again.
        let escalations = slack.filter { $0.contains("Not acknowledged: Account 0000") }
        #expect(escalations.count >= 1, "no escalation of the collapse:\n\(text.suffix(3000))")
        #expect(done.contains(" 0 retried"), "\(done)")
        let clicked = text.split(separator: "\n").first { $0.hasPrefix("lifecycle: <@U0DEMOCSM> clicked Acknowledge") }
        #expect(clicked != nil, "no click:\n\(text.suffix(3000))")
        let edits = text.split(separator: "\n").filter { $0.hasPrefix("edit #") }
        #expect(!edits.isEmpty && done.contains(" edited in place"), "no message edited:\n\(text.suffix(3000))")
        #expect(edits.allSatisfy { $0.contains(" -> 200 ok") }, "\(edits)")
        let channels = text.split(separator: "\n").first { $0.hasPrefix("messages per channel:") }
        #expect(channels?.contains("#cs-escalations") == true, "\(channels ?? "no per-channel line")")
        // The CSMs rate every alert message through its feedback link, and the precision report
        // over the cluster counts each verdict on its rule.
        let lines = text.split(separator: "\n").map(String.init)
        let rated = lines.first { $0.hasPrefix("feedback: the CSMs clicked Useful on ") }
        let useful = rated.flatMap {
            Int($0.dropFirst("feedback: the CSMs clicked Useful on ".count).prefix { $0.isNumber })
        }
        #expect((useful ?? 0) >= 6, "no or too few verdicts: \(rated ?? "no feedback line")\n\(text.suffix(3000))")
        #expect(
            lines.contains { $0.contains("\(useful ?? -1) feedback records (0 on alerts outside the period)") },
            "the report does not count every click:\n\(text.suffix(3000))")
        let atRisk = lines.first { $0.hasPrefix("account-at-risk ") }?.split(separator: " ").map(String.init)
        #expect(atRisk?.count == 10 && atRisk?[5] == "100%", "account-at-risk row: \(atRisk ?? [])")
    }
}
