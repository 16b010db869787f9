/// One metric family the fleet exposes on `/metrics`: its name, Prometheus type, labels and what it
/// means. The `# HELP` line of the family is `help`.
public struct MetricFamily: Sendable, Equatable {
    /// The Prometheus type of a family.
    public enum Kind: String, Sendable {
        case counter, gauge, histogram
    }

    /// The full name (`fleet_...`).
    public var name: String
    /// The Prometheus type.
    public var kind: Kind
    /// The label names, in the order the code sets them.
    public var labels: [String]
    /// Which processes expose it: `all stages`, `dispatcher`, ...
    public var exposedBy: String
    /// One sentence on what it counts or measures (the `# HELP` text).
    public var help: String

    public init(_ name: String, _ kind: Kind, labels: [String], exposedBy: String, help: String) {
        self.name = name
        self.kind = kind
        self.labels = labels
        self.exposedBy = exposedBy
        self.help = help
    }
}

/// Every metric family of the fleet, the one place its help text is written. The metrics factory
/// (`CataloguedMetricsFactory`) takes `# HELP` from here, `docs/metrics.md` is `markdown` (a test
/// compares them), and a test fails when a `fleet_*` name in `Sources/` is missing here.
public enum MetricCatalogue {
    /// The families, grouped by the component that owns them.
    public static let families: [MetricFamily] = [
        MetricFamily(
            "fleet_build_info", .gauge, labels: ["version", "commit"], exposedBy: "all stages",
            help:
                "Always 1; the labels say which version and git commit the process runs (commit unknown when built without FLEET_GIT_COMMIT)."
        ),
        // The worker runtime.
        MetricFamily(
            "fleet_records_consumed_total", .counter, labels: ["stage"], exposedBy: "all stages",
            help: "Records taken in from the stage's input topics (once each; not those re-read after a pause)."),
        MetricFamily(
            "fleet_records_produced_total", .counter, labels: ["stage"], exposedBy: "all stages",
            help: "Records produced: outputs and changelog writes."),
        MetricFamily(
            "fleet_records_dead_lettered_total", .counter, labels: ["stage"], exposedBy: "all stages",
            help: "Records sent to a dead-letter topic."),
        MetricFamily(
            "fleet_offsets_stored_total", .counter, labels: ["stage"], exposedBy: "all stages",
            help: "Offset stores (commits follow)."),
        MetricFamily(
            "fleet_rebalances_total", .counter, labels: ["stage"], exposedBy: "all stages",
            help: "Consumer group rebalances seen."),
        MetricFamily(
            "fleet_state_keys", .gauge, labels: ["stage"], exposedBy: "all stages",
            help: "Keys (accounts, destinations) held in memory."),
        MetricFamily(
            "fleet_partitions_restoring", .gauge, labels: ["stage"], exposedBy: "all stages",
            help: "Assigned partitions whose state is still being restored from the changelog."),
        MetricFamily(
            "fleet_standby_keys", .gauge, labels: ["stage"], exposedBy: "all stages with STANDBY_REPLICAS=all",
            help: "Keys held in the warm standby copies of the changelog (every partition of the stage, decoded)."),
        MetricFamily(
            "fleet_state_restore_failures_total", .counter, labels: ["stage"], exposedBy: "all stages",
            help: "State restores that failed (stalled or errored) and are retried."),
        MetricFamily(
            "fleet_state_values_quarantined_total", .counter, labels: ["stage"], exposedBy: "all stages",
            help: "State values not believed (implausible or undecodable) and set aside instead of applied."),
        MetricFamily(
            "fleet_records_already_applied_total", .counter, labels: ["stage"], exposedBy: "all stages",
            help: "Input records skipped because the restored state already holds their effect."),
        MetricFamily(
            "fleet_changelog_values_corrupt_total", .counter, labels: ["stage", "topic"], exposedBy: "all stages",
            help: "Changelog values that could not be read during a restore."),
        MetricFamily(
            "fleet_consumer_lag", .gauge, labels: ["stage", "topic", "partition"], exposedBy: "all stages",
            help: "Records behind the end of an input partition."),
        MetricFamily(
            "fleet_partition_paused_until_seconds", .gauge, labels: ["stage", "topic", "partition"],
            exposedBy: "all stages",
            help:
                "Unix seconds until which a partition is paused (a retry topic's head not yet due); 0 when not paused."),
        // The HTTP listeners.
        MetricFamily(
            "fleet_http_connections_open", .gauge, labels: ["listener"], exposedBy: "all stages",
            help: "Connections open on an HTTP listener (health, feedback)."),
        MetricFamily(
            "fleet_http_connections_refused_total", .counter, labels: ["listener"], exposedBy: "all stages",
            help: "Connections closed at once because HTTP_MAX_CONNECTIONS were open."),
        MetricFamily(
            "fleet_http_connections_timed_out_total", .counter, labels: ["listener", "timeout"],
            exposedBy: "all stages", help: "Connections closed by the idle or the request timeout."),
        MetricFamily(
            "fleet_http_requests_too_large_total", .counter, labels: ["listener"], exposedBy: "all stages",
            help: "Requests refused for their size (431, 413, or closed past the limits)."),
        // The scorer.
        MetricFamily(
            "fleet_scorer_misrouted_events_total", .counter, labels: ["reason", "outcome"],
            exposedBy: "ingest-scorer",
            help:
                "Events whose key is not their account_id (missing_key, mismatched_key), republished or dead-lettered."
        ),
        MetricFamily(
            "fleet_scorer_input_records_total", .counter, labels: ["topic", "outcome"],
            exposedBy: "ingest-scorer",
            help: "Records of the inputs file's topics: republished onto account-events, skipped, or dead_lettered."),
        MetricFamily(
            "fleet_scorer_population_parts", .gauge, labels: [], exposedBy: "ingest-scorer",
            help:
                "Partitions whose part of the population this scorer sums: its own and those read from ingest-scorer-population within 5 minutes."
        ),
        MetricFamily(
            "fleet_scorer_population_records_refused_total", .counter, labels: [], exposedBy: "ingest-scorer",
            help:
                "Records of ingest-scorer-population left out: a key that is not a partition number, or bytes no scorer wrote."
        ),
        // The evaluator.
        MetricFamily(
            "fleet_evaluator_score_records_skipped_total", .counter, labels: ["reason"], exposedBy: "evaluator",
            help: "Score records not evaluated: repeat (seen already) or too_late (older than the dedup window)."),
        MetricFamily(
            "fleet_evaluator_late_score_records_total", .counter, labels: [], exposedBy: "evaluator",
            help: "Late score records evaluated for their triggers."),
        MetricFamily(
            "fleet_evaluator_actions_total", .counter, labels: ["outcome"], exposedBy: "evaluator",
            help: "alert-actions records read: applied, duplicate, no_episode (episode closed), refused, unreadable."),
        MetricFamily(
            "fleet_evaluator_alerts_suppressed_total", .counter, labels: ["reason"], exposedBy: "evaluator",
            help: "Alerts raised but not sent because of a lifecycle action: snoozed, resolved, silenced."),
        MetricFamily(
            "fleet_evaluator_time_to_acknowledge_seconds", .histogram, labels: ["priority"], exposedBy: "evaluator",
            help:
                "Seconds from an episode's first alert (its raise time) to its first acknowledge or take, by the alert's priority (P1-P9)."
        ),
        MetricFamily(
            "fleet_evaluator_sla_breaches_total", .counter, labels: ["priority"], exposedBy: "evaluator",
            help:
                "Episodes whose response SLA passed with nobody acknowledging, taking, snoozing or resolving them (once per episode), by priority."
        ),
        MetricFamily(
            "fleet_evaluator_open_episodes", .gauge, labels: ["severity"], exposedBy: "evaluator",
            help:
                "Episodes alerted and not resolved in the partitions this evaluator owns, by severity (recounted from the state on each assignment and revocation)."
        ),
        MetricFamily(
            "fleet_evaluator_outcomes_total", .counter, labels: ["rule", "outcome"], exposedBy: "evaluator",
            help:
                "Episodes resolved in Slack or by fleet-admin, by rule and outcome: false_positive, resolved, escalated_to_churn."
        ),
        // The dispatcher.
        MetricFamily(
            "fleet_slack_actions_total", .counter, labels: ["outcome"], exposedBy: "dispatcher",
            help: "Slack button clicks on /slack/actions: recorded, replayed, bad_value, timed_out, not_written, ..."),
        MetricFamily(
            "fleet_slack_signatures_refused_total", .counter, labels: ["reason"], exposedBy: "dispatcher",
            help:
                "Requests to /slack/actions refused as not signed by Slack: missing_headers, malformed, stale, bad_signature."
        ),
        MetricFamily(
            "fleet_deliveries_total", .counter, labels: ["destination", "outcome"], exposedBy: "dispatcher",
            help: "Delivery attempts by outcome (delivered, rate_limited, http_500, timeout, channel_is_archived, ...)."
        ),
        MetricFamily(
            "fleet_dispatch_messages_delivered_total", .counter, labels: ["destination"], exposedBy: "dispatcher",
            help: "Slack messages delivered (a digest or group counts once)."),
        MetricFamily(
            "fleet_dispatch_alerts_delivered_total", .counter, labels: ["destination"], exposedBy: "dispatcher",
            help: "Alerts delivered (each alert of a digest or group counts)."),
        MetricFamily(
            "fleet_dispatch_alerts_retried_total", .counter, labels: ["destination", "code"], exposedBy: "dispatcher",
            help: "Alerts sent to a retry topic, by the failure code."),
        MetricFamily(
            "fleet_dispatch_alerts_dead_lettered_total", .counter, labels: ["destination", "code"],
            exposedBy: "dispatcher", help: "Alerts sent to alerts-dlt, by the failure code."),
        MetricFamily(
            "fleet_dispatch_rate_limit_waits_total", .counter, labels: ["destination"], exposedBy: "dispatcher",
            help: "Posts held back by a destination's rate limit or a 429."),
        MetricFamily(
            "fleet_dispatch_duplicates_skipped_total", .counter, labels: ["destination"], exposedBy: "dispatcher",
            help: "Alerts not posted because the delivery log shows them delivered."),
        MetricFamily(
            "fleet_dispatch_updates_skipped_total", .counter, labels: ["destination", "reason"],
            exposedBy: "dispatcher",
            help:
                "Message updates not sent: no_message (the original was never posted to a Slack app channel), incoming_webhook (a webhook message cannot be edited) or email (a sent email cannot be edited)."
        ),
        MetricFamily(
            "fleet_dispatch_post_duration_seconds", .histogram, labels: ["destination"], exposedBy: "dispatcher",
            help: "Duration of a post to Slack, request to answer."),
        MetricFamily(
            "fleet_dispatch_retry_headers_refused_total", .counter, labels: ["header", "reason"],
            exposedBy: "dispatcher",
            help:
                "Retry header values not believed (unreadable, out_of_range, too_far, not_on_retry_topic); the documented value was used."
        ),
        MetricFamily(
            "fleet_deliveries_in_doubt_total", .counter, labels: ["destination"], exposedBy: "dispatcher",
            help: "Alerts that were in doubt (a post started, no delivery logged), counted once as each is settled."),
        MetricFamily(
            "fleet_deliveries_reconciled_total", .counter, labels: ["destination", "result"], exposedBy: "dispatcher",
            help: "Alerts in doubt looked up in a Slack app's channel: found, not_found or failed."),
        MetricFamily(
            "fleet_feedback_requests_total", .counter, labels: ["outcome"], exposedBy: "dispatcher",
            help: "Requests to feedback links by outcome (recorded, replayed, expired, bad_signature, ...)."),
    ]

    /// Histogram buckets of the families whose values the default buckets (5 ms to 10 s) do not fit.
    public static let durationBuckets: [String: [Duration]] = [
        "fleet_evaluator_time_to_acknowledge_seconds": [
            60, 300, 900, 1_800, 3_600, 7_200, 14_400, 28_800, 86_400, 172_800, 604_800,
        ].map { Duration.seconds($0) }
    ]

    /// The family named `name`, if the catalogue holds it.
    public static func family(named name: String) -> MetricFamily? { byName[name] }

    private static let byName: [String: MetricFamily] = Dictionary(
        families.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })

    /// `docs/metrics.md`: the reference of every family, generated from the catalogue.
    public static var markdown: String {
        var lines = [
            "# Metrics reference", "",
            "Every metric family on a stage's `/metrics` (port `HTTP_PORT`, default 8080), each with `# HELP` and",
            "`# TYPE` lines. Generated from `Sources/WorkerRuntime/MetricCatalogue.swift`; regenerate with",
            "`swift run fleet-admin metrics-reference > docs/metrics.md` (a test fails when they differ).", "",
            "| name | type | labels | exposed by | meaning |",
            "|---|---|---|---|---|",
        ]
        for family in families {
            let labels = family.labels.isEmpty ? "" : family.labels.map { "`\($0)`" }.joined(separator: ", ")
            let help = family.help.replacingOccurrences(of: "|", with: "\\|")
            lines.append(
                "| `\(family.name)` | \(family.kind.rawValue) | \(labels) | \(family.exposedBy) | \(help) |")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
