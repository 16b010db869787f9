import Foundation

/// Text appended by one thread (a child process's stderr) and read, or awaited, by others
/// (`match`, `until`: no thread held while waiting, so a test's waits never take a thread of the
/// cooperative pool from the rest of the suite).
public final class LogLines: @unchecked Sendable {
    private let lock = NSLock()
    private var buffer = ""
    private var ended = false
    /// Tasks waiting for the text: each is given the text (and whether more can come) on every
    /// append; true once it resumed its waiter.
    private var waiters: [Int: @Sendable (String, _ last: Bool) -> Bool] = [:]
    private var timers: [Int: Task<Void, Never>] = [:]
    private var nextWaiter = 0

    public init() {}

    public func append(_ text: String) {
        lock.lock()
        buffer += text
        offer(last: false)
        lock.unlock()
    }

    /// No more text will come (the child closed its end of the pipe): waiting tasks get their
    /// answer now.
    public func end() {
        lock.lock()
        ended = true
        offer(last: true)
        lock.unlock()
    }

    /// Gives the text to every waiting task; under the lock.
    private func offer(last: Bool) {
        for (id, waiter) in waiters where waiter(buffer, last) {
            waiters[id] = nil
            timers.removeValue(forKey: id)?.cancel()
        }
    }

    /// The first non-nil `match` of the text, awaited (without holding a thread) up to `timeout`
    /// or until no more text can come.
    public func match<T: Sendable>(upTo timeout: Duration, _ match: @escaping @Sendable (String) -> T?) async -> T? {
        await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
            lock.lock()
            defer { lock.unlock() }
            let waiter: @Sendable (String, Bool) -> Bool = { text, last in
                if let found = match(text) {
                    continuation.resume(returning: found)
                    return true
                }
                guard last else { return false }
                continuation.resume(returning: nil)
                return true
            }
            guard !waiter(buffer, ended) else { return }
            let id = nextWaiter
            nextWaiter += 1
            waiters[id] = waiter
            timers[id] = Task { [weak self] in
                try? await Task.sleep(for: timeout)
                guard !Task.isCancelled else { return }
                self?.expire(id)
            }
        }
    }

    /// True once `condition` holds for the text, awaited up to `timeout`; false then, or once no
    /// more text can come without it holding.
    public func until(_ timeout: Duration, _ condition: @escaping @Sendable (String) -> Bool) async -> Bool {
        await match(upTo: timeout) { condition($0) ? true : nil } ?? false
    }

    /// Whether the text ended (`end`) within `timeout`: everything the child wrote is in it.
    @discardableResult
    public func ended(within timeout: Duration) async -> Bool {
        _ = await until(timeout) { _ in false }
        return isEnded
    }

    private var isEnded: Bool {
        lock.lock()
        defer { lock.unlock() }
        return ended
    }

    /// A waiter's time is up: its last look at the text.
    private func expire(_ id: Int) {
        lock.lock()
        defer { lock.unlock() }
        timers[id] = nil
        if let waiter = waiters.removeValue(forKey: id) { _ = waiter(buffer, true) }
    }

    public var text: String {
        lock.lock()
        defer { lock.unlock() }
        return buffer
    }
}

/// A bounded wait for a state that announces no event (a metric scraped over HTTP, a gauge):
/// re-checks every `interval` until `condition` holds or `timeout` passes; the caller fails with
/// a message naming what it waited for.
public enum BoundedWait {
    public static func until(
        _ timeout: Duration, every interval: Duration = .milliseconds(50), _ condition: () async throws -> Bool
    ) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await ContinuousClock().sleep(until: min(deadline, ContinuousClock.now + interval))
        }
        return try await condition()
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
