/// When in the UTC day an account is active: its activity events counted per hour of the day, so
/// that a silence can be judged part-way through a day ("none of the logins it makes before noon
/// have come by noon").
///
/// 24 saturating counters in three words inline (24 bytes, no allocation); when one would pass 255 all are
/// halved, so the profile follows a slowly changing habit and never overflows. The counts are
/// relative: only the shares matter.
struct HourProfile: Sendable, Hashable {
    /// Hours 0-7, 8-15 and 16-23, a byte each (hour h at bits 8 * (h % 8)).
    private var words: (UInt64, UInt64, UInt64) = (0, 0, 0)

    /// A profile with no activity.
    init() {}

    /// The count of `hour` (0 outside 0-23); setting it outside 0-23 does nothing.
    subscript(hour: Int) -> UInt8 {
        get {
            guard (0..<24).contains(hour) else { return 0 }
            return UInt8(truncatingIfNeeded: word(hour / 8) >> UInt64(8 * (hour % 8)))
        }
        set {
            guard (0..<24).contains(hour) else { return }
            let shift = UInt64(8 * (hour % 8))
            setWord(hour / 8, word(hour / 8) & ~(0xFF << shift) | UInt64(newValue) << shift)
        }
    }

    /// Counts one activity event at `hour` (0-23, UTC); other hours are ignored.
    mutating func count(hour: Int) {
        guard (0..<24).contains(hour) else { return }
        if self[hour] == .max {
            // Halve every hour: each byte shifted right by one, no bit crossing into its neighbour.
            let mask: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
            words = ((words.0 >> 1) & mask, (words.1 >> 1) & mask, (words.2 >> 1) & mask)
        }
        self[hour] += 1
    }

    /// Every count.
    var total: Int { Self.byteSum(words.0) + Self.byteSum(words.1) + Self.byteSum(words.2) }

    /// The counts of the hours before `hour` (0-24; clamped).
    func sum(before hour: Int) -> Int {
        let h = min(24, max(0, hour))
        var sum = 0
        for k in 0..<3 {
            let start = 8 * k
            if h >= start + 8 {
                sum += Self.byteSum(word(k))
            } else if h > start {
                sum += Self.byteSum(word(k) & ((1 << UInt64(8 * (h - start))) &- 1))
            }
        }
        return sum
    }

    /// The sum of a word's eight bytes: adjacent bytes added into 16-bit lanes (at most 510
    /// each), then the four lanes gathered into the top lane by one multiplication.
    @inline(__always) static func byteSum(_ w: UInt64) -> Int {
        let lanes = (w & 0x00FF_00FF_00FF_00FF) &+ ((w >> 8) & 0x00FF_00FF_00FF_00FF)
        return Int((lanes &* 0x0001_0001_0001_0001) >> 48)
    }

    /// Whether no hour was counted.
    var isEmpty: Bool { words == (0, 0, 0) }

    /// The share of a day's activity that comes before `hour` (0-24), or nil with fewer than
    /// `minimumEvents` counted: the evidence of when the account works is not there yet.
    func share(before hour: Int, minimumEvents: Int) -> Double? {
        let all = total
        guard all >= max(1, minimumEvents) else { return nil }
        return Double(sum(before: hour)) / Double(all)
    }

    static func == (a: HourProfile, b: HourProfile) -> Bool { a.words == b.words }

    func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
    }

    private func word(_ k: Int) -> UInt64 { k == 0 ? words.0 : (k == 1 ? words.1 : words.2) }

    private mutating func setWord(_ k: Int, _ value: UInt64) {
        switch k {
        case 0: words.0 = value
        case 1: words.1 = value
        default: words.2 = value
        }
    }
}
