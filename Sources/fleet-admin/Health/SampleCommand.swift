import ArgumentParser
import Contracts
import Foundation
import HealthModel

/// `fleet-admin sample`: writes a deterministic sample of `account-events` as JSON lines.
struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Write a deterministic (seeded) sample of account-events as JSON lines.",
        discussion: """
            N days for M accounts with ordinary noise, quiet weekends, holidays and stories on the first six \
            accounts (a collapse, a failed billing retry, an expansion, a silent account, a re-published ticket, \
            a cancellation). The story accounts are listed on standard error.
            """
    )

    @Option(help: "Number of accounts.") var accounts = 100
    @Option(help: "Number of days.") var days = 60
    @Option(help: "Random seed: the same seed gives the same bytes.") var seed: UInt64 = 42
    @Option(help: "First day (YYYY-MM-DD).") var start = "2026-09-01"
    @Option(help: "Scales users and events per account.") var activity = 1.0
    @Flag(help: "No stories: every account is ordinary.") var noStories = false
    @Option(
        help: "Tier of the account that goes dark (enterprise, mid_market, smb); default: drawn like any account's.")
    var silentTier: String?
    @Option(name: .shortAndLong, help: "Output file (default: standard output).") var output: String?

    func run() throws {
        guard let first = Timestamp(rfc3339: start + "T00:00:00Z") else {
            throw ValidationError("--start: not YYYY-MM-DD")
        }
        guard accounts > 0, days > 0 else { throw ValidationError("--accounts and --days must be positive") }
        var tier: Tier?
        if let silentTier {
            guard let t = Tier(rawValue: silentTier) else {
                throw ValidationError("--silent-tier: enterprise, mid_market or smb")
            }
            tier = t
        }
        let generator = SampleGenerator(
            options: .init(
                seed: seed, accounts: accounts, days: days, start: first,
                activity: activity, stories: !noStories, silentTier: tier))
        let handle: FileHandle
        if let output {
            guard FileManager.default.createFile(atPath: output, contents: nil) else {
                throw ValidationError("--output: cannot create \(output)")
            }
            handle = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        } else {
            handle = FileHandle.standardOutput
        }
        var buffer = [UInt8]()
        buffer.reserveCapacity(1 << 20)
        var lines = 0
        for day in 0..<days {
            for line in generator.lines(forDay: day) {
                buffer.append(contentsOf: line)
                buffer.append(0x0A)
                lines += 1
                if buffer.count >= 1 << 20 {
                    try handle.write(contentsOf: buffer)
                    buffer.removeAll(keepingCapacity: true)
                }
            }
        }
        try handle.write(contentsOf: buffer)
        if output != nil { try handle.close() }
        let s = generator.stories
        var report = "sample: \(lines) events, \(accounts) accounts, \(days) days from \(start), seed \(seed)\n"
        report +=
            "holidays: " + generator.holidays.map { Timestamp.startOfDay($0).dateString }.joined(separator: " ") + "\n"
        report +=
            "stories (from day \(s.startDay), \(Timestamp.startOfDay(first.epochDay + Int64(s.startDay)).dateString)): \(s.summary)\n"
        FileHandle.standardError.write(Data(report.utf8))
    }
}
