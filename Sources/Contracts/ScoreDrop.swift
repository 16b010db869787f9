/// What a `health_score_drop` alert measured: how far the score fell, from which score, and over
/// which window of its rule. A drop is judged over the rule's window ("-26 in 7 days"), which the
/// score record's own `delta` (the last step, e.g. "-2") does not show.
///
/// Carried by `AlertRecord.drop` (and `DigestItem.drop`); absent from records written before it
/// existed, so it decodes as optional.
public struct ScoreDrop: Codable, Sendable, Hashable {
    /// Points fallen, positive: 26 for a fall from 79 to 53.
    public var points: Int
    /// The score the drop is measured from: the highest score within the window (a `drop` rule) or
    /// the previous score (a `crosses_below` rule).
    public var fromScore: Int
    /// When `fromScore` was valid, where known.
    public var fromAt: Timestamp?
    /// The rule's window in milliseconds (a `drop` rule's `within`); nil for a line crossing.
    public var windowMs: Int64?
    /// The line crossed (a `crosses_below` rule); nil for a drop over a window.
    public var line: Int?

    public init(points: Int, fromScore: Int, fromAt: Timestamp? = nil, windowMs: Int64? = nil, line: Int? = nil) {
        self.points = points
        self.fromScore = fromScore
        self.fromAt = fromAt
        self.windowMs = windowMs
        self.line = line
    }

    enum CodingKeys: String, CodingKey {
        case points
        case fromScore = "from_score"
        case fromAt = "from_at"
        case windowMs = "window_ms"
        case line
    }

    /// A window for people: the largest unit that divides it exactly ("7 days", "36 hours",
    /// "90 minutes", "6 weeks"), else seconds. Windows under five weeks read in days ("14 days").
    public static func describe(windowMs ms: Int64) -> String {
        let units: [(Int64, String)] = [
            (604_800_000, "week"), (86_400_000, "day"), (3_600_000, "hour"), (60_000, "minute"),
        ]
        for (size, name) in units where ms >= size && ms % size == 0 {
            if name == "week", ms / size < 5 { continue }
            let n = ms / size
            return "\(n) \(name)\(n == 1 ? "" : "s")"
        }
        let s = max(ms / 1000, 0)
        return "\(s) second\(s == 1 ? "" : "s")"
    }

    /// The drop for people, e.g. "-26 in 7 days" or "was 43, crossed below 40".
    public var summary: String {
        if let windowMs { return "-\(points) in \(Self.describe(windowMs: windowMs))" }
        if let line { return "was \(fromScore), crossed below \(line)" }
        return "-\(points)"
    }
}
