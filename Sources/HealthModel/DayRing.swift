/// The per-day counters of an account's horizon (logins, distinct users, feature uses, session
/// minutes, API calls, API errors), bit-packed column by column.
///
/// Each field is a column of `days` values, all of the same bit width: the fewest bits that hold the
/// largest value the column has held (0 bits while it has only held zeros, so an account without a
/// kind of activity pays nothing for it). Writing a larger value widens its column. The values, and
/// where they saturate (`UInt16.max` for the four product fields, `UInt32.max` for the two API
/// fields), are exactly those of a plain array of those integer types; only the memory differs
/// (typically 6 to 7 bytes a day instead of 16).
///
/// The same buffer also holds, before the columns, `extraWords` plain 64-bit words (the account's
/// distinct-user sets of the dedup window), to save an allocation per account.
struct DayRing: Sendable {
    /// Fields per day: the four `AccountState.Small` fields, then API calls and API errors.
    static let fieldCount = 6
    /// The extra words, then the columns one after the other, little-endian bit order.
    private var words: [UInt64]
    /// Bit width of each column, one byte per field (field f in bits 8f..<8f+8); bits 48..<64: the
    /// number of extra words.
    private var widths: UInt64
    /// Number of days (slots).
    let days: Int32

    init(days: Int32, extraWords: Int) {
        self.days = days
        widths = UInt64(extraWords) << 48
        words = [UInt64](repeating: 0, count: extraWords)
    }

    /// A ring holding `values` (`values[slot * fieldCount + field]`), with the narrowest columns, and
    /// the extra words `extra`.
    init(days: Int32, values: [UInt32], extra: [UInt64]) {
        self.days = days
        widths = 0
        words = []
        var w: UInt64 = UInt64(extra.count) << 48
        for f in 0..<Self.fieldCount {
            var m: UInt32 = 0
            for s in 0..<Int(days) { m |= values[s &* Self.fieldCount &+ f] }
            w |= UInt64(32 - m.leadingZeroBitCount) << UInt64(8 * f)
        }
        pack(values, widths: w, extra: extra)
    }

    /// Number of extra words.
    @inline(__always) var extraWords: Int { Int(truncatingIfNeeded: widths >> 48) }

    /// An extra word.
    @inline(__always) func extra(_ k: Int) -> UInt64 { words[k] }

    /// Sets an extra word.
    @inline(__always) mutating func setExtra(_ k: Int, _ word: UInt64) { words[k] = word }

    /// The extra words.
    var extras: [UInt64] { Array(words[0..<extraWords]) }

    /// The largest value a field holds (saturation limit).
    @inline(__always) static func limit(_ field: Int) -> UInt32 {
        field < AccountState.smallFields ? UInt32(UInt16.max) : UInt32.max
    }

    /// Where a column starts (in bits) and its width.
    struct Column {
        var start: Int
        var width: Int
    }

    @inline(__always) func width(_ field: Int) -> Int { Int(truncatingIfNeeded: (widths >> UInt64(8 * field)) & 0xFF) }

    @inline(__always) func column(_ field: Int) -> Column {
        var start = 0
        for f in 0..<field { start &+= width(f) }
        return Column(start: start &* Int(days) &+ extraWords &* 64, width: width(field))
    }

    /// The value of a field on a slot.
    @inline(__always) func value(_ field: Int, slot: Int) -> UInt32 {
        value(in: column(field), slot: slot)
    }

    @inline(__always) func value(in c: Column, slot: Int) -> UInt32 {
        guard c.width > 0 else { return 0 }
        let p = c.start &+ slot &* c.width
        let i = p >> 6
        let off = p & 63
        var v = words[i] >> UInt64(off)
        if off &+ c.width > 64 { v |= words[i &+ 1] << UInt64(64 &- off) }
        return UInt32(truncatingIfNeeded: v & ((1 << UInt64(c.width)) &- 1))
    }

    /// Sets the value of a field on a slot, widening its column when needed.
    @inline(__always) mutating func set(_ field: Int, slot: Int, _ value: UInt32) {
        let need = 32 - value.leadingZeroBitCount
        if need > width(field) { widen(field, to: need) }
        write(value, in: column(field), slot: slot)
    }

    /// Writes a value that fits the column's width.
    @inline(__always) private mutating func write(_ value: UInt32, in c: Column, slot: Int) {
        guard c.width > 0 else { return }
        let p = c.start &+ slot &* c.width
        let i = p >> 6
        let off = p & 63
        let mask: UInt64 = (1 << UInt64(c.width)) &- 1
        let v = UInt64(value)
        words[i] = (words[i] & ~(mask << UInt64(off))) | (v << UInt64(off))
        if off &+ c.width > 64 {
            let shift = UInt64(64 &- off)
            words[i &+ 1] = (words[i &+ 1] & ~(mask >> shift)) | (v >> shift)
        }
    }

    /// Adds to a field on a slot, saturating at the field's limit.
    @inline(__always) mutating func add(_ field: Int, slot: Int, _ amount: Int) {
        let c = column(field)
        let new = UInt32(min(Int(Self.limit(field)), Int(value(in: c, slot: slot)) + amount))
        if 32 - new.leadingZeroBitCount > c.width { set(field, slot: slot, new) } else { write(new, in: c, slot: slot) }
    }

    /// Sets every field of a slot to 0.
    mutating func clear(slot: Int) {
        for f in 0..<Self.fieldCount where width(f) > 0 { set(f, slot: slot, 0) }
    }

    /// All values, `[slot * fieldCount + field]`.
    var values: [UInt32] {
        var out = [UInt32](repeating: 0, count: Int(days) * Self.fieldCount)
        for f in 0..<Self.fieldCount {
            let c = column(f)
            guard c.width > 0 else { continue }
            for s in 0..<Int(days) { out[s &* Self.fieldCount &+ f] = value(in: c, slot: s) }
        }
        return out
    }

    private mutating func widen(_ field: Int, to bits: Int) {
        let all = values
        var w = widths & ~(UInt64(0xFF) << UInt64(8 * field))
        w |= UInt64(bits) << UInt64(8 * field)
        pack(all, widths: w, extra: extras)
    }

    private mutating func pack(_ values: [UInt32], widths w: UInt64, extra: [UInt64]) {
        widths = w
        var total = 0
        for f in 0..<Self.fieldCount { total += width(f) }
        words = extra + [UInt64](repeating: 0, count: (total * Int(days) + 63) / 64)
        for f in 0..<Self.fieldCount where width(f) > 0 {
            for s in 0..<Int(days) where values[s &* Self.fieldCount &+ f] != 0 {
                set(f, slot: s, values[s &* Self.fieldCount &+ f])
            }
        }
    }
}

extension DayRing: Equatable {
    /// Equal values (the column widths may differ).
    static func == (a: DayRing, b: DayRing) -> Bool {
        a.days == b.days && (a.widths == b.widths && a.words == b.words || a.extras == b.extras && a.values == b.values)
    }
}
