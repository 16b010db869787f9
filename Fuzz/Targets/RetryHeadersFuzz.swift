import Kafka

@testable import Stages

/// The retry headers the dispatcher reads from `alerts-retry-N` (any producer can write them):
/// reading never traps, and what it reads is safe for the routing's arithmetic (the next attempt,
/// the index of its delay, the due time, the history it appends to).
///
/// Input: headers separated by NUL bytes; each one's first byte modulo 5 picks the name (attempt, due,
/// history, released, other; 0xFF: a header without a value), the rest is its value.
enum RetryHeadersFuzz {
    static let names = [RetryHeaders.attempt, RetryHeaders.due, RetryHeaders.history, RetryHeaders.released, "trace"]

    static let target = FuzzTarget(name: "retry-headers", summary: "fleet.retry.attempt / due / history headers") {
        input in
        let headers = input.split(separator: 0, omittingEmptySubsequences: true).map { chunk -> KafkaHeader in
            let name = names[Int(chunk.first! % UInt8(names.count))]
            return KafkaHeader(name: name, value: chunk.first == 0xFF ? nil : Array(chunk.dropFirst()))
        }
        let settings = DispatcherSettings()
        let retryTopics = DispatcherTopics().retries.count
        let attempt = RetryHeaders.attempt(in: headers)
        _ = RetryHeaders.due(in: headers)
        let history = headers.last(named: RetryHeaders.history)?.text ?? ""
        // What `DispatchRouter.retry` and `complete` do with them after a failed post.
        let next = attempt + 1
        if next <= retryTopics {
            FuzzCheck.require(next >= 1, "attempt \(attempt) read from headers gives delay index \(next - 1)")
            _ = 1_800_000_000_000 + settings.retryDelaysMs[next - 1]
        }
        _ = DispatchRouter.appending(history, next, "http_503", 1_800_000_000_000)
        _ = max(attempt, RetryHeaders.attempts(inHistory: history))
    }
}
