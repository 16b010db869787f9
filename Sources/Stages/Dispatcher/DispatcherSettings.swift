import WorkerRuntime

/// The dispatcher's own settings, from its environment.
///
/// | variable | meaning | default |
/// |---|---|---|
/// | `RETRY_DELAYS_MS` | delays of `alerts-retry-1,2,3` (comma-separated ms) | `10000,60000,600000` |
/// | `GROUP_WAIT_MS` | group wait of destinations whose `group_wait` is unset | 500 |
/// | `DISPATCHER_SCHEDULE` | `on`: quiet hours and digests per destination on the wall clock; `off`: deliver at once (replays of history such as the demo) | on |
/// | `POST_TIMEOUT_MS` | a post that takes longer is a timeout (retried) | 10000 |
/// | `MAX_IN_FLIGHT` | posts in flight at once across destinations | 1024 |
public struct DispatcherSettings: Sendable, Equatable {
    /// Delay of each retry topic, in ms (index 0: `alerts-retry-1`).
    public var retryDelaysMs: [Int64] = [10_000, 60_000, 600_000]
    /// Group wait (ms) of a destination whose own `group_wait` is unset.
    public var defaultGroupWaitMs: Int64 = 500
    /// Whether quiet hours and digests are applied.
    public var schedule = true
    /// Total time a post may take.
    public var postTimeoutMs = 10_000
    /// Posts in flight at once.
    public var maxInFlight = 1_024
    /// Alerts of one destination parked while a rate limit holds it; past this many, its
    /// partition of `alerts` waits for the hold instead (bounds memory during a long hold).
    public var maxParkedPerDestination = 1_000

    public init() {}

    /// The variables `--help` lists.
    public static let variables: [(name: String, meaning: String)] = [
        ("RETRY_DELAYS_MS", "delays of alerts-retry-1,2,3 in ms, comma-separated (default 10000,60000,600000)"),
        (
            "GROUP_WAIT_MS",
            "how long alerts about one account wait for others raised with them, where a destination sets no group_wait (default 500)"
        ),
        (
            "DISPATCHER_SCHEDULE",
            "on: quiet hours and digests per destination on the wall clock; off: deliver at once, for replays of history (default on)"
        ),
        ("POST_TIMEOUT_MS", "a post taking longer is a timeout, retried through the retry topics (default 10000)"),
        ("MAX_IN_FLIGHT", "posts in flight at once across destinations (default 1024)"),
        (
            "SLACK_API_URL",
            "Slack Web API base of slack_app destinations without api_url (default https://slack.com/api; a local sink's in tests)"
        ),
    ]

    /// Reads the settings; a wrong value names its variable and what is wrong.
    public static func fromEnvironment(_ env: [String: String]) throws(WorkerError) -> DispatcherSettings {
        var s = DispatcherSettings()
        if let text = env["RETRY_DELAYS_MS"] {
            let parts = text.split(separator: ",").map { Int64($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 3, parts.allSatisfy({ ($0 ?? -1) >= 0 && ($0 ?? 0) <= 86_400_000 }) else {
                throw .configuration(
                    source: "environment", key: "RETRY_DELAYS_MS",
                    reason: "\"\(text)\" is not three delays in ms (0...86400000), e.g. 10000,60000,600000")
            }
            s.retryDelaysMs = parts.map { $0! }
        }
        func integer(_ key: String, _ fallback: Int, _ range: ClosedRange<Int>) throws(WorkerError) -> Int {
            guard let text = env[key] else { return fallback }
            guard let value = Int(text), range.contains(value) else {
                throw .configuration(
                    source: "environment", key: key,
                    reason: "\"\(text)\" is not a whole number in \(range.lowerBound)...\(range.upperBound)")
            }
            return value
        }
        s.defaultGroupWaitMs = Int64(try integer("GROUP_WAIT_MS", 500, 0...60_000))
        s.postTimeoutMs = try integer("POST_TIMEOUT_MS", 10_000, 100...120_000)
        s.maxInFlight = try integer("MAX_IN_FLIGHT", 1_024, 1...100_000)
        switch env["DISPATCHER_SCHEDULE"]?.lowercased() ?? "on" {
        case "on": s.schedule = true
        case "off": s.schedule = false
        case let other:
            throw .configuration(
                source: "environment", key: "DISPATCHER_SCHEDULE", reason: "\"\(other)\" is not on or off")
        }
        return s
    }
}
