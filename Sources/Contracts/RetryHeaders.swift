/// The headers the dispatcher puts on records of the retry topics and its dead letters.
public enum RetryHeaders {
    /// Failed delivery attempts so far (the record on `alerts-retry-N` has made N).
    public static let attempt = "fleet.retry.attempt"
    /// Wall-clock ms before which the record is not tried again.
    public static let due = "fleet.retry.due"
    /// Every attempt so far: `1 http_503 2026-11-20T10:00:01Z; 2 timeout ...`.
    public static let history = "fleet.retry.history"
    /// On `alerts`: released by the dispatcher's own schedule (quiet hours over, a digest due), so
    /// the schedule does not hold it again.
    public static let released = "fleet.released"
    /// On a dead letter (and so on its replay): the alert was in doubt when it was dead-lettered
    /// (an earlier post timed out or failed after it may have reached Slack), since this wall ms.
    /// The dispatcher reading it back looks the alert up in its Slack app channel before posting
    /// (`fleet-admin dlt replay` keeps the header).
    public static let inDoubtSince = "fleet.delivery.in_doubt_since"
}

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
