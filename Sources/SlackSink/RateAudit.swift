/// Checks recorded arrivals against a token bucket: how many arrivals came when a bucket of
/// `burst` tokens refilled at `perSecond` would have been empty. `toleranceNanos` absorbs
/// network jitter between the sender's clock and the arrival time.
public enum RateAudit {
    /// Number of arrivals over the limit. `arrivals` must be sorted.
    public static func violations(arrivals: [UInt64], perSecond: Double, burst: Int, toleranceNanos: UInt64) -> Int {
        guard let first = arrivals.first else { return 0 }
        var tokens = Double(burst)
        var last = first
        var count = 0
        let slack = Double(toleranceNanos) * perSecond / 1e9
        for t in arrivals {
            if t > last {
                tokens = min(Double(burst), tokens + Double(t - last) * perSecond / 1e9)
                last = t
            }
            if tokens + slack >= 1 {
                tokens -= 1
            } else {
                count += 1
                tokens = 0
            }
        }
        return count
    }

    /// Summary over all paths.
    public struct Report: Sendable, CustomStringConvertible {
        public var requests: Int
        public var paths: Int
        public var violations: Int
        public var pathsOverLimit: Int
        public var description: String {
            "\(requests) requests on \(paths) paths, \(violations) over the limit on \(pathsOverLimit) paths"
        }
    }
}
