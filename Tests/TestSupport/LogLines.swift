import Foundation

/// Text appended by one thread (a child process's stderr) and read, or waited on with a condition
/// variable, by another.
public final class LogLines: @unchecked Sendable {
    private let condition = NSCondition()
    private var buffer = ""

    public init() {}

    public func append(_ text: String) {
        condition.lock()
        buffer += text
        condition.broadcast()
        condition.unlock()
    }

    public var text: String {
        condition.lock()
        defer { condition.unlock() }
        return buffer
    }

    /// The first non-nil `match` of the text, waiting for more text up to `timeout`.
    public func waitForMatch<T>(upTo timeout: Duration, _ match: (String) -> T?) -> T? {
        let deadline = Date(timeIntervalSinceNow: timeout.seconds)
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let found = match(buffer) { return found }
            guard condition.wait(until: deadline) else { return match(buffer) }
        }
    }

    /// True once `match` holds for the text, false after `timeout`. Re-checked on every append
    /// and at least every 200 ms (for conditions that also look outside the text).
    public func waitFor(timeout: Duration, _ match: (String) -> Bool) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout.seconds)
        condition.lock()
        defer { condition.unlock() }
        while !match(buffer) {
            if Date() >= deadline { return false }
            _ = condition.wait(until: min(deadline, Date(timeIntervalSinceNow: 0.2)))
        }
        return true
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
