import ArgumentParser
import Contracts
import Foundation
import HealthModel
import Synchronization

/// `fleet-admin replay`: scores a JSON-lines file of account-events in event time and writes the
/// `health-scores` records as JSON lines.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Score a JSON-lines file of account-events in event time; write score records as JSON lines.",
        discussion: """
            Events are applied in file order. The watermark is the largest occurred_at seen minus --lateness; \
            each time it passes a UTC midnight every account is advanced to that midnight and re-scored, so \
            silent accounts lose health day by day. The same file gives byte-identical output. A summary \
            (events, rejected by reason, accounts, zones, records) goes to standard error, with the refused lines \
            and their numbers. An event dated more than --max-clock-skew after --now (default: the wall clock at \
            run time) is refused as the ingest-scorer refuses it (future_event_time) and moves no time.
            """
    )

    @Argument(help: "Input file of JSON lines ('-' for standard input).") var input: String
    @Option(name: .shortAndLong, help: "Output file (default: standard output).") var output: String?
    @Option(help: "Scoring file (YAML); default: the built-in defaults.") var scoring: String?
    @Option(help: "Allowed lateness of the watermark, in seconds.") var lateness: Int64 = 3600
    @Option(help: "Reference time of the future-time bound (RFC 3339 or YYYY-MM-DD); default: the wall clock.")
    var now: String?
    @Option(help: "How far ahead of --now an event may be dated, in seconds (MAX_CLOCK_SKEW_MS).")
    var maxClockSkew: Int64 = 600
    @Flag(help: "No progress bar.") var noProgress = false

    func run() throws {
        var config = ScoringConfig()
        if let scoring {
            let text = try String(contentsOfFile: scoring, encoding: .utf8)
            do { config = try ScoringConfig(yaml: text, file: scoring) } catch {
                throw HealthCommandError(message: error.description)
            }
        }
        let reader: FileHandle
        var total: UInt64 = 0
        if input == "-" {
            reader = FileHandle.standardInput
        } else {
            guard let h = FileHandle(forReadingAtPath: input) else {
                throw HealthCommandError(message: "cannot read \(input)")
            }
            reader = h
            total = (try? FileManager.default.attributesOfItem(atPath: input)[.size] as? UInt64) ?? 0
        }
        let writer: FileHandle
        if let output {
            guard FileManager.default.createFile(atPath: output, contents: nil) else {
                throw HealthCommandError(message: "cannot create \(output)")
            }
            writer = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        } else {
            writer = FileHandle.standardOutput
        }
        let progress = ReplayProgressBar(total: total, enabled: !noProgress && isatty(2) == 1 && total > 0)
        var replay = Replay(
            scorer: HealthScorer(config: config),
            allowedLatenessMs: try TimeArgument.milliseconds(seconds: lateness, option: "--lateness"),
            futureTimeBound: FutureTimeBound(
                maxClockSkewMilliseconds: try TimeArgument.milliseconds(
                    seconds: maxClockSkew, option: "--max-clock-skew")),
            now: try TimeArgument.reference(now))
        var out = [UInt8]()
        out.reserveCapacity(1 << 20)
        var encodeError: Error?
        var pending = [UInt8]()
        var consumed: UInt64 = 0
        func emit(_ record: ScoreRecord) {
            do {
                try ScoreRecordWriter.appendLine(record, to: &out)
            } catch {
                encodeError = error
            }
        }
        while true {
            let chunk = try reader.read(upToCount: 1 << 20) ?? Data()
            let atEnd = chunk.isEmpty
            pending.append(contentsOf: chunk)
            var start = 0
            pending.withUnsafeBufferPointer { buffer in
                var k = 0
                while k < buffer.count {
                    if buffer[k] == 0x0A {
                        replay.process(line: UnsafeBufferPointer(rebasing: buffer[start..<k]), emit: emit)
                        start = k + 1
                    }
                    k += 1
                }
                if atEnd, start < buffer.count {
                    replay.process(line: UnsafeBufferPointer(rebasing: buffer[start..<buffer.count]), emit: emit)
                    start = buffer.count
                }
            }
            pending.removeFirst(start)
            consumed += UInt64(chunk.count)
            if let encodeError { throw encodeError }
            if out.count >= 1 << 20 || atEnd {
                try writer.write(contentsOf: out)
                out.removeAll(keepingCapacity: true)
            }
            progress.update(consumed, events: replay.eventsRead)
            if atEnd { break }
        }
        if output != nil { try writer.close() }
        progress.finish()
        let summary = replay.summary
        var report = summary.lines.joined(separator: "\n") + "\n"
        for line in summary.rejectedLines.prefix(20) {
            report += "  line \(line.number): \(line.code): \(line.reason)\n"
        }
        if summary.rejectedTotal > 20 {
            report += "  ... \(summary.rejectedTotal - min(20, summary.rejectedLines.count)) more refused lines\n"
        }
        FileHandle.standardError.write(Data(report.utf8))
    }
}

/// A failure of a health command that is not a usage error (no usage text is printed).
struct HealthCommandError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// A one-line progress bar on standard error (only on a terminal).
struct ReplayProgressBar {
    let total: UInt64
    let enabled: Bool
    private final class Shown: Sendable { let percent = Atomic<Int>(-1) }
    private let shown = Shown()

    init(total: UInt64, enabled: Bool) {
        self.total = total
        self.enabled = enabled
    }

    func update(_ done: UInt64, events: Int) {
        guard enabled else { return }
        let percent = Int(min(100, done * 100 / max(total, 1)))
        guard shown.percent.exchange(percent, ordering: .relaxed) != percent else { return }
        let width = 40
        let filled = width * percent / 100
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        FileHandle.standardError.write(Data("\r[\(bar)] \(percent)% \(events) events".utf8))
    }

    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\n".utf8))
    }
}
