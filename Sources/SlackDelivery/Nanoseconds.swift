/// Monotonic-clock arithmetic in nanoseconds that clamps instead of trapping: a Retry-After, a
/// configured rate or a hold limit can be any `Double`, and a time computed from it must never
/// overflow `UInt64`.
enum Nanoseconds {
    /// The longest wait any conversion gives: about 146 years, far beyond every hold limit, and
    /// small enough that adding it to a monotonic reading never overflows.
    static let longest: UInt64 = UInt64.max / 4

    /// `seconds` in nanoseconds, truncated; negative or NaN gives 0, too large gives `longest`.
    static func from(seconds: Double) -> UInt64 {
        clamped(seconds * 1e9)
    }

    /// `nanos` as a `UInt64`, truncated; negative or NaN gives 0, too large gives `longest`.
    static func clamped(_ nanos: Double) -> UInt64 {
        guard nanos > 0 else { return 0 }  // also NaN
        guard nanos < Double(longest) else { return longest }
        return UInt64(nanos)
    }

    /// `time + wait`, or `UInt64.max` where that would overflow.
    static func adding(_ time: UInt64, _ wait: UInt64) -> UInt64 {
        let (sum, overflow) = time.addingReportingOverflow(wait)
        return overflow ? .max : sum
    }
}
