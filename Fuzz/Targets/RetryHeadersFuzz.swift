import Contracts
import Kafka

@testable import Stages

/// The retry headers the dispatcher reads from `alerts` and `alerts-retry-N` (any producer can write
/// them), through the same `RetryHeaderCheck` the processor uses: reading never traps, and what it
/// accepts is safe for the routing's arithmetic (the next attempt, the index of its delay, the due
/// time, the history it appends to).
///
/// Input: its first byte picks the topic (modulo 4: `alerts`, `alerts-retry-1..3`), then headers
/// separated by NUL bytes; each one's first byte modulo 5 picks the name (attempt, due, history,
/// in-doubt mark, other; 0xFF: a header without a value), the rest is its value.
enum RetryHeadersFuzz {
    static let names = [
        RetryHeaders.attempt, RetryHeaders.due, RetryHeaders.history, RetryHeaders.inDoubtSince, "trace",
    ]

    static let target = FuzzTarget(name: "retry-headers", summary: "fleet.retry.attempt / due / history headers") {
        input in
        guard let first = input.first else { return }
        let topicAttempt = Int(first % 4)
        let headers = input.dropFirst().split(separator: 0, omittingEmptySubsequences: true).map {
            chunk -> KafkaHeader in
            let name = names[Int(chunk.first! % UInt8(names.count))]
            return KafkaHeader(name: name, value: chunk.first == 0xFF ? nil : Array(chunk.dropFirst()))
        }
        let settings = DispatcherSettings()
        let retryTopics = DispatcherTopics().retries.count
        let now: Int64 = 1_800_000_000_000
        let check = RetryHeaderCheck.read(
            attempt: headers.last(named: RetryHeaders.attempt)?.text, due: headers.last(named: RetryHeaders.due)?.text,
            inDoubtSince: headers.last(named: RetryHeaders.inDoubtSince)?.text, topicAttempt: topicAttempt,
            maxAttempts: retryTopics, longestDelayMs: settings.retryDelaysMs.max() ?? 0, horizonMs: 30 * 86_400_000,
            now: now)
        FuzzCheck.require((0...retryTopics).contains(check.attempt), "attempt \(check.attempt) accepted")
        if let due = check.due {
            FuzzCheck.require(
                due > now && due - now <= (settings.retryDelaysMs.max() ?? 0) + 60_000, "due \(due) accepted")
        }
        let history = headers.last(named: RetryHeaders.history)?.text ?? ""
        // What `DeliveryRouter.retry` and `complete` do with them after a failed post.
        let next = check.attempt + 1
        if next <= retryTopics, next - 1 < settings.retryDelaysMs.count {
            _ = now + settings.retryDelaysMs[next - 1]
        }
        _ = DeliveryRouter.appending(history, next, "http_503", now)
        _ = max(check.attempt, RetryHeaders.attempts(inHistory: history))
    }
}
