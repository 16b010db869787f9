import Metrics

/// The dispatcher's metrics, per destination NAME (never a URL): messages delivered, alerts sent
/// to a retry topic, alerts dead-lettered, waits on a rate limit (429 or a held destination),
/// alerts skipped because the delivery log already holds them, post latency (a histogram), and
/// every answer by outcome code (`fleet_deliveries_total{destination, outcome}`: `delivered`,
/// `rate_limited`, `http_503`, `timeout`, `channel_is_archived`, ...; the PrometheusRule's
/// FleetDeliveriesFailing and FleetDestinationArchived read it).
public struct DispatcherMetrics: Sendable {
    public init() {}

    func outcome(_ destination: String, code: String) {
        Counter(label: "fleet_deliveries_total", dimensions: [("destination", destination), ("outcome", code)])
            .increment()
    }

    func delivered(_ destination: String, alerts: Int) {
        Counter(label: "fleet_dispatch_messages_delivered_total", dimensions: [("destination", destination)])
            .increment()
        Counter(label: "fleet_dispatch_alerts_delivered_total", dimensions: [("destination", destination)]).increment(
            by: alerts)
    }

    func retried(_ destination: String, code: String) {
        Counter(
            label: "fleet_dispatch_alerts_retried_total", dimensions: [("destination", destination), ("code", code)]
        ).increment()
    }

    func deadLettered(_ destination: String, code: String) {
        Counter(
            label: "fleet_dispatch_alerts_dead_lettered_total",
            dimensions: [("destination", destination), ("code", code)]
        ).increment()
    }

    func rateLimitWait(_ destination: String) {
        Counter(label: "fleet_dispatch_rate_limit_waits_total", dimensions: [("destination", destination)]).increment()
    }

    func duplicateSkipped(_ destination: String) {
        Counter(label: "fleet_dispatch_duplicates_skipped_total", dimensions: [("destination", destination)])
            .increment()
    }

    func updateSkipped(_ destination: String, reason: String) {
        Counter(
            label: "fleet_dispatch_updates_skipped_total",
            dimensions: [("destination", destination), ("reason", reason)]
        ).increment()
    }

    func postLatency(_ destination: String, nanoseconds: UInt64) {
        Timer(
            label: "fleet_dispatch_post_duration_seconds", dimensions: [("destination", destination)],
            preferredDisplayUnit: .seconds
        )
        .recordNanoseconds(Int64(clamping: nanoseconds))
    }

    /// A retry header value the dispatcher did not accept (`RetryHeaderCheck`): `header` is
    /// `attempt`, `due` or `in_doubt_since`; `reason` is `unreadable`, `out_of_range`, `too_far`
    /// or `not_on_retry_topic`.
    func retryHeaderRefused(header: String, reason: String) {
        Counter(
            label: "fleet_dispatch_retry_headers_refused_total", dimensions: [("header", header), ("reason", reason)]
        ).increment()
    }

    /// An alert in doubt (an intent to post without a delivery) settled: found in its Slack app
    /// channel, not found there and posted, or posted again unchecked (a webhook, or a channel
    /// that refused the look-up: at-least-once). Counted once per alert, when it leaves doubt.
    func inDoubt(_ destination: String) {
        Counter(label: "fleet_deliveries_in_doubt_total", dimensions: [("destination", destination)]).increment()
    }

    /// Alerts in doubt looked up in a Slack app channel: `found` (logged, not posted again),
    /// `not_found` (posted), `failed` (the look-up is retried).
    func reconciled(_ destination: String, result: String, alerts: Int) {
        Counter(
            label: "fleet_deliveries_reconciled_total", dimensions: [("destination", destination), ("result", result)]
        ).increment(by: alerts)
    }
}
