import Dispatch

/// Where a test's long synchronous work runs (a replay of a labelled history, a backtest, a wait
/// for a child process): one serial lane for the whole test process, off Swift's cooperative pool.
///
/// Swift Testing runs every test as a task on the cooperative pool, whose width is the number of
/// cores (two in CI). A synchronous test holds one of those threads until it returns, so a few
/// tests of tens of seconds each left every process test's awaits (a consumer's next record, a
/// child's log line) unscheduled for two minutes, and their bounded waits failed. On the lane such
/// work takes at most one core, one job at a time, and the pool stays free for the rest.
///
/// The lane is a task executor: the test's body runs on it as part of the test's own task, so
/// `#expect` and `#require` inside it report to the test as anywhere else.
public final class CPULane: TaskExecutor {
    private static let shared = CPULane()
    private let queue = DispatchQueue(label: "tests.cpu-lane")

    private init() {}

    /// Runs `body` on the lane (its synchronous stretches one after another with every other test's
    /// on the lane) and returns its result.
    public static func run<T>(_ body: () async throws -> T) async throws -> T {
        try await withTaskExecutorPreference(shared, operation: body)
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
