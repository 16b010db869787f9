import ArgumentParser
import Contracts
import Foundation
import HealthModel

/// `fleet-admin events ...`: the account-events contract from the command line.
struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Check account events against the input contract (docs/events.md).",
        subcommands: [EventsValidateCommand.self]
    )
}

/// `fleet-admin events validate FILE|-`: every line checked as the ingest-scorer would.
struct EventsValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a file of account events (JSON lines) before sending it.",
        discussion: """
            Each line is checked by the ingest-scorer's own parser and future-time bound. A refused line is \
            printed as FILE:LINE: CODE: REASON, with the code the dead-letter topic would carry \
            (docs/events.md lists them); a summary line follows. Exit status: 0 when every event is \
            accepted, 1 when any is refused, 2 when the file cannot be read.

              fleet-admin events validate my-events.jsonl
              kcat -C -b broker:9092 -t account-events -e | fleet-admin events validate -
            """
    )

    @Argument(help: "A file of JSON lines, or - for standard input.")
    var file: String

    @Option(help: "Event times further ahead of now are refused, as MAX_CLOCK_SKEW_MS does in the stages.")
    var maxClockSkewMs: Int64 = Int64(ProcessInfo.processInfo.environment["MAX_CLOCK_SKEW_MS"] ?? "") ?? 600_000

    @Option(help: "Print at most this many refused lines (all are counted in the summary).")
    var maxProblems: Int = 100

    @Flag(help: "Print only the summary line.")
    var quiet = false

    func run() throws {
        let now = WallClock.system.milliseconds()
        var check = EventFileCheck(
            nowMilliseconds: now, maxClockSkewMilliseconds: maxClockSkewMs,
            keepProblems: quiet ? 0 : max(0, maxProblems))
        do {
            try JSONLines.forEachLine(in: file) { check.check($0) }
        } catch {
            FileHandle.standardError.write(Data("events validate: \(error)\n".utf8))
            throw ExitCode(2)
        }
        let name = file == "-" ? "stdin" : file
        for p in check.problems { print("\(name):\(p.line): \(p.code): \(p.reason)") }
        if check.refused > check.problems.count, !quiet {
            print("... \(check.refused - check.problems.count) more refused lines not shown (--max-problems)")
        }
        print(check.summary)
        if check.refused > 0 { throw ExitCode(1) }
    }
}
