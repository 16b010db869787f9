import Foundation
import TestSupport
import Testing

/// The local SMTP server of the email tests: Tests/SMTPServer/smtp_server.py (aiosmtpd) run by the
/// venv python that scripts/test-venv makes, as a child process on 127.0.0.1. It prints `PORT n`,
/// then one `MESSAGE <json>` line per accepted message and `AUTH <json>` per accepted login.
final class SMTPTestServer: @unchecked Sendable {
    /// The venv's python, if scripts/test-venv made it.
    static let python: String? = {
        let path = MarkdownExamples.root.appendingPathComponent(".build-venv-tests/bin/python").path
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }()

    /// scripts/test sets FLEET_REQUIRE_SMTP_TESTS=1 after making the venv: then a missing venv is a
    /// failure, not a skip.
    static let required = ProcessInfo.processInfo.environment["FLEET_REQUIRE_SMTP_TESTS"] == "1"

    static let skipReason: Comment =
        "aiosmtpd's venv is missing (.build-venv-tests: run scripts/test-venv): the SMTP tests are skipped"

    let port: Int
    let lines: LogLines
    private let process: Process
    private let input: Pipe
    private let exited: DispatchSemaphore
    private let follower: PipeFollower

    private init(
        port: Int, lines: LogLines, process: Process, input: Pipe, exited: DispatchSemaphore, follower: PipeFollower
    ) {
        self.port = port
        self.lines = lines
        self.process = process
        self.input = input
        self.exited = exited
        self.follower = follower
    }

    /// Starts the server (with `user`/`password`: AUTH required, only that pair accepted) and
    /// awaits, bounded, its port. Awaited, not waited for on a pool thread: two tests starting
    /// servers at once on a 2-core machine held both of the pool's threads while python started
    /// under the suite's load. The bound is for a machine that busy (a free one takes ~0.3 s).
    static func start(user: String? = nil, password: String? = nil) async throws -> SMTPTestServer {
        guard let python = Self.python else {
            throw ServerError("the venv python .build-venv-tests/bin/python is missing: run scripts/test-venv")
        }
        let script = MarkdownExamples.root.appendingPathComponent("Tests/SMTPServer/smtp_server.py").path
        let process = Process()
        let input = Pipe()
        let exited = DispatchSemaphore(value: 0)
        let lines = LogLines()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script] + (user.map { ["--user", $0, "--password", password ?? ""] } ?? [])
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = input
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
        let follower = PipeFollower(output.fileHandleForReading, into: lines)
        guard
            let port = await lines.match(
                upTo: .seconds(120),
                { text in
                    Self.completeLines(text).first { $0.hasPrefix("PORT ") }.flatMap { Int($0.dropFirst(5)) }
                })
        else {
            try? input.fileHandleForWriting.close()
            process.terminate()
            throw ServerError("the SMTP server printed no port within 120 s (output: \(lines.text))")
        }
        return SMTPTestServer(
            port: port, lines: lines, process: process, input: input, exited: exited, follower: follower)
    }

    /// Closes the server's standard input (it exits) and waits for its exit, bounded.
    func stop() {
        guard process.isRunning else { return }
        try? input.fileHandleForWriting.close()
        if exited.wait(timeout: .now() + 10) == .timedOut { process.terminate() }
    }

    deinit { stop() }

    /// `smtp://127.0.0.1:<port>`.
    var url: String { "smtp://127.0.0.1:\(port)" }

    /// The `MESSAGE` records received so far.
    var messages: [[String: Any]] { Self.records("MESSAGE ", lines.text) }

    /// Waits, bounded, until `count` messages have arrived; returns them.
    func waitForMessages(_ count: Int, upTo timeout: Duration = .seconds(20)) async -> [[String: Any]] {
        _ = await lines.until(timeout) { Self.records("MESSAGE ", $0).count >= count }
        return messages
    }

    /// The `AUTH` records (the user names that logged in; passwords are never printed).
    var logins: [[String: Any]] { Self.records("AUTH ", lines.text) }

    /// The lines of `text` that are complete (a line still being written is left out).
    static func completeLines(_ text: String) -> [Substring] {
        guard let end = text.lastIndex(of: "\n") else { return [] }
        return text[..<end].split(separator: "\n")
    }

    static func records(_ prefix: String, _ text: String) -> [[String: Any]] {
        completeLines(text).filter { $0.hasPrefix(prefix) }.compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.dropFirst(prefix.count).utf8))) as? [String: Any]
        }
    }

    struct ServerError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
