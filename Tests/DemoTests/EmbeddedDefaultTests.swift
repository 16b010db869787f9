import Foundation
import Testing

/// `scripts/demo`'s job, end to end, as a user runs it: `fleet-admin demo` as its own process on a
/// local broker with sample data; the stories reach the right channels of the local Slack sink
/// and no ordinary account alerts.
@Suite struct EmbeddedDefaultTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("fleet-admin")

    @Test func demoDeliversTheStoriesAndNothingElse() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary.path), "fleet-admin not built at \(Self.binary.path)")
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = ["demo", "--accounts", "40", "--days", "45", "--seed", "7"]
        process.currentDirectoryURL = Self.root
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Read to the end off the cooperative pool; the demo stops by itself once the pipeline is quiet.
        let data: Data = await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: out.fileHandleForReading.readDataToEndOfFile()) }
        }
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        #expect(process.terminationStatus == 0, "demo exited \(process.terminationStatus):\n\(text.suffix(2000))")
        let slack = text.split(separator: "\n").filter { $0.hasPrefix("slack ") }.map(String.init)
        let done = try #require(text.split(separator: "\n").first { $0.hasPrefix("done:") }, "no summary line:\n\(text.suffix(2000))")
        #expect(done.hasSuffix(", 0 refused"), "\(done)")
        #expect(slack.count >= 10, "only \(slack.count) messages reached the sink")
        // The collapse: critical, P1, in the escalation channel.
        #expect(slack.contains { $0.contains("/cs-escalations -> 200") && $0.contains("P1 critical customer at risk: Account 0000") })
        // The failed billing retry, in the billing channel.
        #expect(slack.contains { $0.contains("/billing-alerts -> 200") && $0.contains("Account 0001") })
        // The expansion, in the revenue channel.
        #expect(slack.contains { $0.contains("/revenue-signals -> 200") && $0.contains("expansion signal") && $0.contains("Account 0002") })
        // No ordinary account (acct-0006 and up) alerts.
        let ordinary = slack.filter { $0.range(of: #"Account 00(0[6-9]|[1-9][0-9])"#, options: .regularExpression) != nil }
        #expect(ordinary.isEmpty, "ordinary accounts alerted: \(ordinary)")
    }
}
