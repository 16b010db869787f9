import Kafka

extension RetryHeaders {
    /// Failed delivery attempts a `fleet.retry.history` text names: its entries that start with an
    /// attempt number (`1 http_503 2026-...`), over every run of the alert. Other entries (the
    /// `replayed from ...` mark a dead-letter replay leaves) are not attempts.
    ///
    /// The dispatcher's delivery log reports this as `retries` when it exceeds the attempt count of
    /// the current run: a dead letter replayed by `fleet-admin dlt replay` starts a new retry budget
    /// (no `fleet.retry.attempt`) but keeps its history, so the log still shows the earlier attempts.
    public static func attempts(inHistory history: String) -> Int {
        history.split(separator: ";").reduce(0) { count, entry in
            let first = entry.drop { $0 == " " }.prefix { $0 != " " }
            return !first.isEmpty && first.allSatisfy(\.isNumber) ? count + 1 : count
        }
    }

    /// The history entry a dead-letter replay appends: `replayed from alerts-dlt[0]@17`.
    public static func replayMark(from deadLetter: String) -> String { "replayed from \(deadLetter)" }

    /// The failed attempts a retry record's `fleet.retry.attempt` header counts (0 without one, or
    /// when it is not a number), within `0...` the number of retry topics: any producer can write
    /// the header, and the router adds to it and indexes its delays with it. A larger count is
    /// exhausted (the next failure dead-letters the alert); a negative one counts as 0.
    public static func attempt(in headers: [KafkaHeader]) -> Int {
        let value = headers.last(named: attempt)?.text.flatMap { Int($0) } ?? 0
        return min(max(value, 0), FleetTopics.alertsRetry.count)
    }

    /// The wall-clock ms a retry record's `fleet.retry.due` header names (nil without one, or when
    /// it is not a number).
    public static func due(in headers: [KafkaHeader]) -> Int64? {
        headers.last(named: due)?.text.flatMap { Int64($0) }
    }
}
