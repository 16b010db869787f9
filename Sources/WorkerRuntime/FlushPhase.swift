/// When in each commit interval a partition closes its changes into a changelog flush.
///
/// Every partition flushes once per `COMMIT_INTERVAL_MS`, but not all in the same loop: closing a
/// flush encodes every state changed since the last one on the worker thread, and with twelve
/// partitions flushed together the records arriving meanwhile waited for all twelve (about 60 ms
/// a second at 5,000 events/s over 10,000 accounts, the event-to-Slack p99's largest part). Each
/// partition takes its own phase of the interval instead, spread by the golden ratio so that any
/// number of partitions, numbered from 0, falls evenly.
enum FlushPhase {
    /// The fraction of the interval (0 ..< 1) at which `partition` flushes.
    static func fraction(of partition: Int32) -> Double {
        let spread = Double(partition) * 0.618_033_988_749_895
        return spread - spread.rounded(.down)
    }

    /// The first flush of `partition` assigned at `now`: within one `interval`, at its phase.
    static func first(
        of partition: Int32, after now: ContinuousClock.Instant, interval: Duration
    ) -> ContinuousClock.Instant {
        let fraction = fraction(of: partition)
        return now + interval * (fraction > 0 ? fraction : 1)
    }
}
