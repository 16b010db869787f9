import Logging
import ServiceLifecycle
import Synchronization
import Testing

@testable import WorkerRuntime

/// Issue 23: the parts of an executable that only start and stop (the feedback ledger, the Slack
/// deliverer, the HTTP listeners) run in its one `ServiceGroup`: each starts when the group runs
/// it and, on graceful shutdown, stops in the reverse order, once.
@Suite struct StopOnShutdownServiceTests {
    final class Journal: Sendable {
        private let entries = Mutex<[String]>([])
        func add(_ entry: String) { entries.withLock { $0.append(entry) } }
        var all: [String] { entries.withLock { $0 } }
    }

    struct TimedOut: Error, CustomStringConvertible {
        var description: String
    }

    static let logger: Logger = {
        var l = Logger(label: "service-test")
        l.logLevel = .critical
        return l
    }()

    @Test func eachPartStartsWhenTheGroupRunsAndStopsInReverseOrderOnce() async throws {
        let journal = Journal()
        let (started, startedContinuation) = AsyncStream<String>.makeStream()
        let names = ["feedback ledger", "slack deliverer", "health listener"]
        let services = names.map { name in
            StopOnShutdownService(
                name, logger: Self.logger,
                start: {
                    journal.add("start \(name)")
                    startedContinuation.yield(name)
                },
                stop: { journal.add("stop \(name)") })
        }
        let group = ServiceGroup(
            configuration: .init(
                services: services.map {
                    .init(
                        service: $0, successTerminationBehavior: .gracefullyShutdownGroup,
                        failureTerminationBehavior: .gracefullyShutdownGroup)
                },
                logger: Self.logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            // Bounded: the three starts are awaited as events, for at most 10 s.
            try await withThrowingTaskGroup(of: Bool.self) { wait in
                wait.addTask {
                    var seen = 0
                    for await _ in started {
                        seen += 1
                        if seen == names.count { return true }
                    }
                    return false
                }
                wait.addTask {
                    try await Task.sleep(for: .seconds(10))
                    return false
                }
                let allStarted = try await wait.next() ?? false
                wait.cancelAll()
                guard allStarted else { throw TimedOut(description: "not every part started: \(journal.all)") }
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        let entries = journal.all
        #expect(Set(entries.prefix(3)) == Set(names.map { "start \($0)" }), "every part started first: \(entries)")
        #expect(Array(entries.dropFirst(3)) == names.reversed().map { "stop \($0)" }, "stopped in reverse: \(entries)")
        // A later stop (the process's own clean-up after the group) does nothing.
        await services[0].stop()
        #expect(journal.all.count == 6)
    }
}
