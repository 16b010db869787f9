import Contracts

/// The one way messages say how a health score moved, for every alert type, the header, the
/// fields, group sections and digest lines alike: the score, then the change in words.
///
/// | movement | text |
/// | --- | --- |
/// | last step down 50 | `health 31, down 50 from 81` |
/// | last step up 22 | `health 74, up 22 from 52` |
/// | no change | `health 60, unchanged` |
/// | drop rule over 7 days | `health 53, down 26 from 79 in 7 days` |
/// | line crossed | `health 33, down 10 from 43, below 40` |
///
/// Pure and total: no value a record carries can trap it.
public enum ScoreChange {
    /// "down 50 from 81", "up 22 from 52", "unchanged", "down 26 from 79 in 7 days",
    /// "down 10 from 43, below 40". A drop (from a drop or crossing rule) wins over the last step.
    public static func phrase(score: Int, delta: Int, drop: ScoreDrop?) -> String {
        if let drop {
            var out = "down \(drop.points) from \(drop.fromScore)"
            if let w = drop.windowMs {
                out += " in \(ScoreDrop.describe(windowMs: w))"
            } else if let line = drop.line {
                out += ", below \(line)"
            }
            return out
        }
        if delta == 0 { return "unchanged" }
        let (from, overflow) = score.subtractingReportingOverflow(delta)
        let direction = delta < 0 ? "down" : "up"
        return overflow ? "\(direction) \(delta.magnitude)" : "\(direction) \(delta.magnitude) from \(from)"
    }

    /// "health 31, down 50 from 81".
    public static func health(score: Int, delta: Int, drop: ScoreDrop?) -> String {
        "health \(score), \(phrase(score: score, delta: delta, drop: drop))"
    }
}
