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
    var total: Int {
        var sum = 0
        for h in 0..<24 { sum += Int(self[h]) }
        return sum
    }

    /// Whether no hour was counted.
    var isEmpty: Bool { words == (0, 0, 0) }

    /// The share of a day's activity that comes before `hour` (0-24), or nil with fewer than
    /// `minimumEvents` counted: the evidence of when the account works is not there yet.
    func share(before hour: Int, minimumEvents: Int) -> Double? {
        let all = total
        guard all >= max(1, minimumEvents) else { return nil }
        var before = 0
        for h in 0..<min(24, max(0, hour)) { before += Int(self[h]) }
        return Double(before) / Double(all)
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
