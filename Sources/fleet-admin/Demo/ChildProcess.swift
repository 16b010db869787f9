import Foundation

/// A child process of the demo: its stdout lines go to a callback (and are kept for waits), its
/// stderr to a log file. Stopped with SIGTERM, or killed if it does not exit in time.
// @unchecked: `lines` and `partial` are read and written under `condition` only; `Process` is thread-safe.
final class ChildProcess: @unchecked Sendable {
    let name: String
    let process = Process()
    private let out = Pipe()
    private let condition = NSCondition()
    private var lines: [String] = []
    private var partial = ""

    /// The directory of this executable: the stage binaries are built beside `fleet-admin`.
    static var binaryDirectory: URL {
        URL(fileURLWithPath: Bundle.main.executablePath ?? CommandLine.arguments[0]).deletingLastPathComponent()
    }

    init(
        name: String, binary: String, arguments: [String] = [], environment: [String: String], logFile: URL,
        onLine: (@Sendable (String) -> Void)? = nil
    ) throws {
        self.name = name
        let url = Self.binaryDirectory.appendingPathComponent(binary)
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            throw DemoError("\(binary) is not built at \(url.path): run `swift build` first")
        }
        process.executableURL = url
        process.arguments = arguments
        process.environment = environment
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: logFile)
        process.standardOutput = out
        out.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self, !data.isEmpty else { return }
            self.take(String(decoding: data, as: UTF8.self), onLine: onLine)
        }
        try process.run()
    }

    private func take(_ text: String, onLine: (@Sendable (String) -> Void)?) {
        condition.lock()
        partial += text
        var complete: [String] = []
        while let newline = partial.firstIndex(of: "\n") {
            complete.append(String(partial[..<newline]))
            partial = String(partial[partial.index(after: newline)...])
        }
        lines += complete
        condition.broadcast()
        condition.unlock()
        for line in complete { onLine?(line) }
    }

    /// Waits up to `timeout` for a stdout line that `match` accepts and returns what it made of it.
    func waitForLine<T>(timeout: TimeInterval, _ match: (String) -> T?) -> T? {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        var seen = 0
        while true {
            while seen < lines.count {
                if let found = match(lines[seen]) { return found }
                seen += 1
            }
            if !process.isRunning || !condition.wait(until: deadline) { return nil }
        }
    }

    /// SIGTERM, then SIGKILL after `grace` seconds; returns the exit status.
    @discardableResult
    func stop(grace: TimeInterval = 30) -> Int32 {
        if process.isRunning { process.terminate() }
        let deadline = ContinuousClock.now + .milliseconds(Int64(grace * 1000))
        while process.isRunning, ContinuousClock.now < deadline { usleep(20_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        out.fileHandleForReading.readabilityHandler = nil
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// A demo step that cannot go on, said plainly.
struct DemoError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
