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
}
