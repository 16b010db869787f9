import Dispatch
import Foundation

/// The one way the fleet runs blocking C work (librdkafka polls and calls, libcurl transfers,
/// changelog reads): on threads of its own, never on Swift's cooperative pool, where a blocked
/// call would starve every task of the process.
///
/// Two shapes cover every use: `start` for a loop that lives as long as its owner (a worker
/// loop, a poll thread, a transfer engine), and `run` for one blocking call whose result a task
/// awaits (an admin request, a read of a topic to its end).
public enum BlockingThread {
    /// Blocking calls awaited by tasks run here: threads of Dispatch's own, not the cooperative pool.
    private static let calls = DispatchQueue(label: "blocking-calls", attributes: .concurrent)

    /// Starts `body` on a new thread named `name` (shown by debuggers and `top -H`). The thread
    /// ends when `body` returns; the caller signals it to stop and waits for it as it sees fit.
    public static func start(name: String, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread(block: body)
        thread.name = name
        thread.start()
    }

    /// Runs the blocking `body` off the cooperative pool and returns its result (or its error) to
    /// the awaiting task.
    public static func run<T: Sendable, Failure: Error>(
        _ body: @escaping @Sendable () throws(Failure) -> T
    ) async throws(Failure) -> T {
        let result: Result<T, Failure> = await withCheckedContinuation { continuation in
            calls.async {
                do throws(Failure) {
                    continuation.resume(returning: .success(try body()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }

    /// Runs `body` on a new thread named `name` and returns its result to the awaiting task: for a
    /// long-running loop whose end the task waits for (a worker's consume loop).
    public static func runOnOwnThread<T: Sendable>(name: String, _ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            start(name: name) { continuation.resume(returning: body()) }
        }
    }
}
