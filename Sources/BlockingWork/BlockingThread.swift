import Dispatch
import Foundation

/// The one way the fleet runs blocking C work (librdkafka polls and calls, libcurl transfers,
/// changelog reads): on threads of its own, never on Swift's cooperative pool, where a blocked
/// call would starve every task of the process.
///
/// Two shapes cover every use: `start` for a loop that lives as long as its owner (a poll thread,
/// a transfer engine), and `run` for blocking work whose result a task awaits (an admin request, a
/// read of a topic to its end, a worker's whole consume loop).
public enum BlockingThread {
    /// Starts `body` on a new thread named `name` (shown by debuggers and `top -H`). The thread
    /// ends when `body` returns; the caller signals it to stop and waits for it as it sees fit.
    public static func start(name: String, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread(block: body)
        thread.name = name
        thread.start()
    }

    /// Runs the blocking `body` off the cooperative pool, on a thread of its own, and returns its
    /// result (or its error) to the awaiting task. A thread per call, not a Dispatch queue: on Linux
    /// Dispatch's pool grows slowly while its threads block, so blocking calls sharing it (polls of
    /// many consumers, a topic read to its end) would wait for each other.
    public static func run<T: Sendable, Failure: Error>(
        name: String = "blocking-call", _ body: @escaping @Sendable () throws(Failure) -> T
    ) async throws(Failure) -> T {
        let result: Result<T, Failure> = await withCheckedContinuation { continuation in
            start(name: name) {
                do throws(Failure) {
                    continuation.resume(returning: .success(try body()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }
}
