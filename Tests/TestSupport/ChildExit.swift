import Foundation
import Synchronization

/// Awaits a child process's exit without holding a thread of the cooperative pool: the blocking
/// `waitUntilExit` runs on a thread of its own.
public enum ChildExit {
    /// Whether `process` exited within `timeout`.
    public static func within(_ timeout: Duration, _ process: Process) async -> Bool {
        let answer = Answer()
        return await withCheckedContinuation { continuation in
            answer.waiter.withLock { $0 = continuation }
            let thread = Thread {
                process.waitUntilExit()
                answer.give(true)
            }
            thread.name = "child-exit"
            thread.start()
            Task {
                try? await Task.sleep(for: timeout)
                answer.give(false)
            }
        }
    }

    /// The first of the exit and the time-out answers.
    private final class Answer: Sendable {
        let waiter = Mutex<CheckedContinuation<Bool, Never>?>(nil)
        func give(_ exited: Bool) { waiter.withLock { $0.take() }?.resume(returning: exited) }
    }
}

/// Runs a child process to its end, awaited without holding a thread of the cooperative pool: its
/// exit status and what it wrote to stdout and stderr (one pipe, in the order written).
public enum ChildRun {
    public struct StillRunning: Error, CustomStringConvertible {
        public let description: String
    }

    /// Runs `executable` with `arguments` in `environment`; one still running after `timeout` is
    /// terminated and reported as `StillRunning` with what it printed.
    public static func run(
        _ executable: URL, _ arguments: [String], environment: [String: String], timeout: Duration = .seconds(60)
    ) async throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let lines = LogLines()
        try process.run()
        _ = PipeFollower(pipe.fileHandleForReading, into: lines)
        guard await ChildExit.within(timeout, process) else {
            process.terminate()
            await lines.ended(within: .seconds(5))
            throw StillRunning(
                description:
                    "\(executable.lastPathComponent) \(arguments) still running after \(timeout):\n\(lines.text.suffix(2000))"
            )
        }
        await lines.ended(within: .seconds(5))
        return (process.terminationStatus, lines.text)
    }
}
