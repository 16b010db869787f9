import Contracts

/// The binary form of `AccountState` (the `ingest-scorer-state` changelog value).
///
/// Version 2 appends the count of records emitted (`sequence`, a varint) to non-empty states;
/// version 3 then appends the hour profile (a 24-bit mask of the hours counted, then their counts);
/// version 1 and 2 values are still read (as sequence 0: the next record is 1; no hour profile).
///
/// Layout, version 1: a version byte, then varints (zigzag for signed values) and length-prefixed
/// UTF-8. Days are written relative to the state's current day, so they stay one byte. The day ring
/// is sparse: a bitmap of days with data, then per such day a mask of non-zero fields and their values.
extension AccountState {
    /// Version written by `encode()`. `init(decoding:)` refuses versions it does not know.
    public static let encodingVersion: UInt8 = 3

    /// The compact binary form; decodes to an equal state.
    public func encode() -> [UInt8] {
        var w = ByteWriter()
        w.out.reserveCapacity(512)
        w.byte(Self.encodingVersion)
        w.string(accountId)
        w.uvarint(UInt64(horizonDays))
        w.uvarint(UInt64(dedupDays))
        w.svarint(clockMs)
        guard !isEmpty else { return w.out }
        let today = clockDay
        w.svarint(Int64(today) - Int64(firstDay))
        w.svarint(lastActivityDay == .min ? -1 : Int64(today) - Int64(lastActivityDay))
        // Day ring, oldest day first.
        let h = Int(horizonDays)
        let fields = DayRing.fieldCount
        let values = ring.values  // [slot * fields + field]
        var bitmap = [UInt8](repeating: 0, count: (h + 7) / 8)
        for k in 0..<h {
            let s = slot(today - Int32(h - 1 - k))
            var any = false
            for f in 0..<fields where values[s * fields + f] != 0 { any = true }
            if any { bitmap[k / 8] |= 1 << UInt8(k % 8) }
        }
        w.out.append(contentsOf: bitmap)
        for k in 0..<h where bitmap[k / 8] & (1 << UInt8(k % 8)) != 0 {
            let s = slot(today - Int32(h - 1 - k))
            var mask: UInt8 = 0
            for f in 0..<fields where values[s * fields + f] != 0 { mask |= 1 << UInt8(f) }
            w.byte(mask)
            for f in 0..<fields where values[s * fields + f] != 0 { w.uvarint(UInt64(values[s * fields + f])) }
        }
        // Distinct-user sets of the dedup window, in slot order.
        var userMask: UInt64 = 0
        for (k, word) in userBits.enumerated() where word != 0 { userMask |= 1 << UInt64(k) }
        w.uvarint(userMask)
        for word in userBits where word != 0 { w.fixed64(word) }
        // Event-id fingerprints: runs of the same day.
        w.uvarint(UInt64(seen.count))
        for run in seen.runs {
            w.uvarint(UInt64(run.fingerprints.count))
            w.svarint(Int64(today) - Int64(run.day))
            for fp in run.fingerprints { w.fixed32(fp) }
        }
        w.uvarint(UInt64(rare.count))
        for e in rare {
            w.svarint(Int64(today) - Int64(e.day))
            w.uvarint(UInt64(e.minute))
            w.byte(e.kind.rawValue)
            w.svarint(Int64(e.value))
        }
        w.uvarint(UInt64(features.count))
        for f in features {
            w.fixed32(f.fingerprint)
            w.uvarint(UInt64(f.count))
            w.svarint(Int64(today) - Int64(f.firstDay))
            w.svarint(Int64(today) - Int64(f.lastDay))
        }
        w.uvarint(UInt64(seatHistory.count))
        for p in seatHistory {
            w.svarint(Int64(today) - Int64(p.day))
            w.uvarint(UInt64(max(0, p.seats)))
        }
        // Profile: a presence mask, then the fields present.
        let texts = [profile.name, profile.owner, profile.url, profile.renewalDate, profile.timezone]
        var pmask: UInt8 = 0
        for (j, t) in texts.enumerated() where t != nil { pmask |= 1 << UInt8(j) }
        if profile.tier != nil { pmask |= 1 << 5 }
        if profile.mrr != nil { pmask |= 1 << 6 }
        w.byte(pmask)
        for t in texts { if let t { w.string(t) } }
        if let tier = profile.tier { w.byte(UInt8(Tier.allCases.firstIndex(of: tier)!)) }
        if let mrr = profile.mrr { w.fixed64(mrr.bitPattern) }
        w.svarint(profileAtMs == .min ? 0 : clockMs - profileAtMs + 1)
        w.byte(cancellationScheduled ? 1 : 0)
        w.svarint(cancellationAtMs == .min ? 0 : clockMs - cancellationAtMs + 1)
        w.svarint(Int64(lastScore))
        w.byte(lastZone)
        w.uvarint(UInt64(lastSignalMask))
        w.uvarint(UInt64(lastPositiveMask))
        w.uvarint(UInt64(pendingEventIds.count))
        for id in pendingEventIds { w.string(id) }
        w.uvarint(UInt64(max(0, sequence)))
        var hourMask: UInt64 = 0
        for h in 0..<24 where hours[h] != 0 { hourMask |= 1 << UInt64(h) }
        w.uvarint(hourMask)
        for h in 0..<24 where hours[h] != 0 { w.byte(hours[h]) }
        return w.out
    }

    /// Decodes `encode()`'s output. Throws `HealthModelError.stateDecoding` for truncated, corrupt or
    /// unknown-version input; never traps.
    public init(decoding bytes: [UInt8]) throws(HealthModelError) {
        var r = ByteReader(bytes: bytes)
        let version = try r.byte()
        guard (1...Self.encodingVersion).contains(version) else {
            throw .stateDecoding(
                reason: "unknown encoding version \(version) (this build reads \(Self.encodingVersion))")
        }
        let accountId = try r.string()
        let horizon = try r.uvarint()
        let dedup = try r.uvarint()
        guard (8...366).contains(horizon), (1...31).contains(dedup) else {
            throw .stateDecoding(reason: "bad horizon or dedup days")
        }
        self.init(accountId: accountId, horizonDays: Int(horizon), dedupDays: Int(dedup))
        let clock = try r.svarint()
        guard clock != .min else {
            guard r.atEnd else { throw .stateDecoding(reason: "trailing bytes") }
            return
        }
        guard abs(clock) < Int64(1) << 50 else { throw .stateDecoding(reason: "clock out of range") }
        clockMs = clock
        let today = clockDay
        // Every day lies within 2^21 days (5,700 years) of the state's day, so the scorer's Int32 day
        // arithmetic on decoded days (`today - firstDay`, `firstDay + 7`) can never overflow.
        func day(_ offset: Int64) throws(HealthModelError) -> Int32 {
            guard offset > -(1 << 21), offset < (1 << 21) else { throw .stateDecoding(reason: "day out of range") }
            return Int32(Int64(today) - offset)
        }
        firstDay = try day(try r.svarint())
        let lastActivity = try r.svarint()
        lastActivityDay = lastActivity == -1 ? .min : try day(lastActivity)
        let h = Int(horizonDays)
        var bitmap = [UInt8]()
        for _ in 0..<((h + 7) / 8) { bitmap.append(try r.byte()) }
        let fields = DayRing.fieldCount
        var values = [UInt32](repeating: 0, count: h * fields)
        for k in 0..<h where bitmap[k / 8] & (1 << UInt8(k % 8)) != 0 {
            let s = slot(today - Int32(h - 1 - k))
            let mask = try r.byte()
            for f in 0..<fields where mask & (1 << UInt8(f)) != 0 {
                values[s * fields + f] = UInt32(min(UInt64(DayRing.limit(f)), try r.uvarint()))
            }
        }
        let userWords = Int(dedupDays) * 2
        let userMask = try r.uvarint()
        var userBits = [UInt64](repeating: 0, count: userWords)
        for k in 0..<userWords where userMask & (1 << UInt64(k)) != 0 { userBits[k] = try r.fixed64() }
        ring = DayRing(days: horizonDays, values: values, extra: userBits)
        let seenCount = try r.count(limit: 1 << 20)
        var runs: [(day: Int32, fingerprints: [UInt32])] = []
        var read = 0
        while read < seenCount {
            let run = try r.count(limit: seenCount - read)
            guard run > 0 else { throw .stateDecoding(reason: "empty run of event ids") }
            let d = try day(try r.svarint())
            var fps: [UInt32] = []
            fps.reserveCapacity(run)
            for _ in 0..<run { fps.append(try r.fixed32()) }
            runs.append((d, fps))
            read += run
        }
        seen.reserveCapacity(ids: seenCount, runs: runs.count)
        for run in runs { seen.appendRun(day: run.day, run.fingerprints) }
        let rareCount = try r.count(limit: 1 << 16)
        rare.reserveCapacity(rareCount)
        for _ in 0..<rareCount {
            let d = try day(try r.svarint())
            let minute = try r.uvarint()
            guard minute < 1440, let kind = RareKind(rawValue: try r.byte()) else {
                throw .stateDecoding(reason: "bad rare event")
            }
            let value = try r.svarint()
            guard value >= Int64(Int32.min), value <= Int64(Int32.max) else {
                throw .stateDecoding(reason: "bad rare event value")
            }
            rare.append(RareEvent(day: d, minute: Int16(minute), kind: kind, value: Int32(value)))
        }
        let featureCount = try r.count(limit: 1024)
        features.reserveCapacity(featureCount)
        for _ in 0..<featureCount {
            let fp = try r.fixed32()
            let count = UInt32(min(UInt64(UInt32.max), try r.uvarint()))
            features.append(
                FeatureUse(
                    fingerprint: fp, count: count, firstDay: try day(try r.svarint()), lastDay: try day(try r.svarint())
                ))
        }
        let seatCount = try r.count(limit: 1024)
        seatHistory.reserveCapacity(seatCount)
        for _ in 0..<seatCount {
            let d = try day(try r.svarint())
            seatHistory.append(SeatPoint(day: d, seats: Int32(min(UInt64(Int32.max), try r.uvarint()))))
        }
        let pmask = try r.byte()
        var texts: [String?] = []
        for j in 0..<5 { texts.append(pmask & (1 << UInt8(j)) != 0 ? try r.string() : nil) }
        profile.name = texts[0]
        profile.owner = texts[1]
        profile.url = texts[2]
        profile.renewalDate = texts[3]
        profile.timezone = texts[4]
        if pmask & (1 << 5) != 0 {
            let t = Int(try r.byte())
            guard t < Tier.allCases.count else { throw .stateDecoding(reason: "bad tier") }
            profile.tier = Tier.allCases[t]
        }
        if pmask & (1 << 6) != 0 {
            let mrr = Double(bitPattern: try r.fixed64())
            guard mrr.isFinite else { throw .stateDecoding(reason: "mrr not a finite number") }
            profile.mrr = mrr
        }
        func instant(_ offset: Int64) throws(HealthModelError) -> Int64 {
            guard offset != 0 else { return .min }
            guard offset > 0, offset < Int64(1) << 50 else { throw .stateDecoding(reason: "time out of range") }
            return clockMs - (offset - 1)
        }
        profileAtMs = try instant(try r.svarint())
        cancellationScheduled = try r.byte() != 0
        cancellationAtMs = try instant(try r.svarint())
        let score = try r.svarint()
        guard (-1...100).contains(score) else { throw .stateDecoding(reason: "bad last score") }
        lastScore = Int16(score)
        lastZone = try r.byte()
        lastSignalMask = UInt32(truncatingIfNeeded: try r.uvarint())
        lastPositiveMask = UInt32(truncatingIfNeeded: try r.uvarint())
        let pending = try r.count(limit: 1024)
        var ids: [String] = []
        for _ in 0..<pending { ids.append(try r.string()) }
        self.pending.reserveCapacity(bytes: ids.reduce(0) { $0 + $1.utf8.count + 2 })
        for id in ids { self.pending.append(id) }
        if version >= 2 { sequence = Int64(clamping: try r.uvarint()) }
        if version >= 3 {
            let hourMask = try r.uvarint()
            guard hourMask < 1 << 24 else { throw .stateDecoding(reason: "bad hour mask") }
            for h in 0..<24 where hourMask & (1 << UInt64(h)) != 0 {
                let n = try r.byte()
                guard n != 0 else { throw .stateDecoding(reason: "an hour counted as 0") }
                hours[h] = n
            }
        }
        guard r.atEnd else { throw .stateDecoding(reason: "trailing bytes") }
    }
}

struct ByteWriter {
    var out: [UInt8] = []

    @inline(__always) mutating func byte(_ b: UInt8) { out.append(b) }

    @inline(__always) mutating func uvarint(_ v: UInt64) { Varint.append(v, to: &out) }

    @inline(__always) mutating func svarint(_ v: Int64) { Varint.append(signed: v, to: &out) }

    mutating func fixed32(_ v: UInt32) {
        for k in 0..<4 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(k)))) }
    }

    mutating func fixed64(_ v: UInt64) {
        for k in 0..<8 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(k)))) }
    }

    mutating func string(_ s: String) {
        uvarint(UInt64(s.utf8.count))
        out.append(contentsOf: s.utf8)
    }
}

struct ByteReader {
    let bytes: [UInt8]
    var i = 0

    var atEnd: Bool { i == bytes.count }

    mutating func byte() throws(HealthModelError) -> UInt8 {
        guard i < bytes.count else { throw .stateDecoding(reason: "truncated") }
        defer { i += 1 }
        return bytes[i]
    }

    mutating func uvarint() throws(HealthModelError) -> UInt64 {
        do throws(ContractsError) {
            return try Varint.read(from: bytes, at: &i)
        } catch {
            throw .stateDecoding(reason: error.description)
        }
    }

    mutating func svarint() throws(HealthModelError) -> Int64 { Varint.unzigzag(try uvarint()) }

    mutating func count(limit: Int) throws(HealthModelError) -> Int {
        let v = try uvarint()
        guard v <= UInt64(limit) else { throw .stateDecoding(reason: "count \(v) over limit \(limit)") }
        return Int(v)
    }

    mutating func fixed32() throws(HealthModelError) -> UInt32 {
        var v: UInt32 = 0
        for k in 0..<4 { v |= UInt32(try byte()) << (8 * UInt32(k)) }
        return v
    }

    mutating func fixed64() throws(HealthModelError) -> UInt64 {
        var v: UInt64 = 0
        for k in 0..<8 { v |= UInt64(try byte()) << (8 * UInt64(k)) }
        return v
    }

    mutating func string() throws(HealthModelError) -> String {
        let n = try count(limit: 1 << 20)
        guard bytes.count - i >= n else { throw .stateDecoding(reason: "truncated") }
        defer { i += n }
        return String(decoding: bytes[i..<(i + n)], as: UTF8.self)
    }
}
